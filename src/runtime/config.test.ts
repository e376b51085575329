/**
 * configToOCI rule by rule (docs/linuxkit-behaviour.md#precedence to #other-fields), including LinuxKit's own Go unit
 * tests (moby/config_test.go: TestOverrides, TestInvalidCap, TestIdMap).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MobyError } from '../util/errors.ts';
import type { ContainerConfig } from '../oci/types.ts';
import type { ImageConfigSpec, ImageEntry } from '../spec/types.ts';
import { KNOWN_CAPABILITIES } from './capabilities.ts';
import { configToOCI } from './config.ts';
import { buildIdMap } from './ids.ts';
import type { IdMap, RuntimeConfig } from './types.ts';

const E = (extra: Partial<ImageEntry> = {}): ImageEntry => ({ name: 'c', image: 'img', ...extra });

function oci(
  entry: Partial<ImageEntry>,
  o: { config?: ContainerConfig; label?: ImageConfigSpec; ids?: IdMap } = {},
): RuntimeConfig {
  const image = o.label === undefined ? { config: o.config ?? {} } : { config: o.config ?? {}, label: o.label };
  return configToOCI(E(entry), image, { idMap: o.ids ?? new Map() });
}

function fails(
  entry: Partial<ImageEntry>,
  o: Parameters<typeof oci>[1],
  expected: { code: string; message: string },
): void {
  assert.throws(
    () => oci(entry, o),
    (err: unknown) => {
      assert.ok(err instanceof MobyError);
      assert.equal(err.code, expected.code);
      assert.equal(err.message, expected.message);
      return true;
    },
  );
}

const PREFIX = 'Cannot create the OCI config of container "c" (image "img"): ';
const LABEL = " (from the image's org.mobyproject.config label)";

void test("TestOverrides: spec capabilities replace the label's; cwd comes from the label", () => {
  const c = oci(
    { capabilities: ['CAP_SYS_ADMIN'] },
    { label: { capabilities: ['CAP_SYS_CHROOT'], cwd: '/label/directory' } },
  );
  assert.deepEqual(c.process.capabilities.bounding, ['CAP_SYS_ADMIN']);
  assert.equal(c.process.cwd, '/label/directory');
});

void test('TestInvalidCap: an unknown capability in the label is an IMAGE_CONFIG error naming the field', () => {
  fails(
    {},
    { label: { capabilities: ['NOT_A_CAP'] } },
    {
      code: 'IMAGE_CONFIG',
      message: `${PREFIX}capabilities[0]${LABEL}: unknown capability "NOT_A_CAP" (capabilities are upper case with the CAP_ prefix, e.g. "CAP_NET_ADMIN")`,
    },
  );
});

void test('TestIdMap: uid by container name, numeric gid', () => {
  const c = oci({ uid: 'test', gid: 76 }, { ids: new Map([['test', 199]]) });
  assert.deepEqual(c.process.user, { uid: 199, gid: 76 });
});

void test('process args/env/cwd: spec, else label, else image (Entrypoint ++ Cmd), cwd never empty', () => {
  const config: ContainerConfig = { Entrypoint: ['/e'], Cmd: ['c'], Env: ['I=1'], WorkingDir: '/img' };
  const table: [
    Partial<ImageEntry>,
    ImageConfigSpec | undefined,
    Pick<RuntimeConfig['process'], 'args' | 'env' | 'cwd'>,
  ][] = [
    [{}, undefined, { args: ['/e', 'c'], env: ['I=1'], cwd: '/img' }],
    [{}, { command: ['/l'], env: ['L=1'], cwd: '/l' }, { args: ['/l'], env: ['L=1'], cwd: '/l' }],
    [
      { command: ['/s'], env: ['S=1'], cwd: '/s' },
      { command: ['/l'], env: ['L=1'], cwd: '/l' },
      { args: ['/s'], env: ['S=1'], cwd: '/s' },
    ],
    [{ command: [], env: [], cwd: '' }, { cwd: '' }, { args: [], env: [], cwd: '/img' }],
  ];
  for (const [entry, label, want] of table) {
    const p = oci(entry, label === undefined ? { config } : { config, label }).process;
    assert.deepEqual({ args: p.args, env: p.env, cwd: p.cwd }, want, JSON.stringify(entry));
  }
  assert.equal(oci({}, { config: {} }).process.cwd, '/');
  assert.equal(oci({}, { config: {} }).process.env, undefined);
});

void test('capabilities: all/none in any case, capabilities.add extends the label, ambient joins bounding', () => {
  const caps = (entry: Partial<ImageEntry>, label?: ImageConfigSpec): RuntimeConfig['process']['capabilities'] =>
    oci(entry, label === undefined ? {} : { label }).process.capabilities;
  assert.deepEqual(caps({ capabilities: ['ALL'] }).effective, KNOWN_CAPABILITIES);
  assert.equal(KNOWN_CAPABILITIES.length, 41);
  assert.deepEqual(caps({ capabilities: ['None'] }, { capabilities: ['CAP_CHOWN'] }).bounding, []);
  assert.deepEqual(caps({ 'capabilities.add': ['CAP_KILL'] }, { capabilities: ['CAP_CHOWN'] }).effective, [
    'CAP_CHOWN',
    'CAP_KILL',
  ]);
  assert.deepEqual(caps({ capabilities: ['CAP_KILL'], 'capabilities.add': ['CAP_SYSLOG'] }).effective, ['CAP_KILL']);
  const c = caps({ capabilities: ['CAP_SETUID'], ambient: ['CAP_NET_RAW'] });
  assert.deepEqual(c, {
    bounding: ['CAP_NET_RAW', 'CAP_SETUID'],
    effective: ['CAP_SETUID'],
    inheritable: ['CAP_NET_RAW', 'CAP_SETUID'],
    permitted: ['CAP_NET_RAW', 'CAP_SETUID'],
    ambient: ['CAP_NET_RAW'],
  });
  assert.deepEqual(caps({ ambient: ['all'] }).bounding?.length, 41);
});

void test('capabilities: unknown names are SPEC_INVALID errors naming the field, with a suggestion', () => {
  fails(
    { 'capabilities.add': ['CAP_NET_ADMN'] },
    { label: { capabilities: ['CAP_CHOWN'] } },
    {
      code: 'SPEC_INVALID',
      message: `${PREFIX}capabilities.add[0]: unknown capability "CAP_NET_ADMN" (did you mean "CAP_NET_ADMIN"?)`,
    },
  );
  fails(
    { ambient: ['net_raw', 'CAP_KILL'] },
    {},
    {
      code: 'SPEC_INVALID',
      message: `${PREFIX}ambient[0]: unknown capability "net_raw" (did you mean "CAP_NET_RAW"?)`,
    },
  );
});

void test('namespaces: net/ipc/uts/userns default host, pid default new, mount always, paths kept', () => {
  const ns = (entry: Partial<ImageEntry>, label?: ImageConfigSpec): RuntimeConfig['linux']['namespaces'] =>
    oci(entry, label === undefined ? {} : { label }).linux.namespaces;
  assert.deepEqual(ns({}), [{ type: 'pid' }, { type: 'mount' }]);
  assert.deepEqual(ns({ net: 'none', pid: 'host' }), [{ type: 'network' }, { type: 'mount' }]);
  assert.deepEqual(ns({ net: 'root', ipc: 'host', uts: 'root', userns: 'host', pid: 'root' }), [{ type: 'mount' }]);
  assert.deepEqual(ns({ net: '/run/netns/a', ipc: 'new', uts: 'new', userns: '/proc/1/ns/user', pid: 'new' }), [
    { type: 'network', path: '/run/netns/a' },
    { type: 'ipc' },
    { type: 'uts' },
    { type: 'pid' },
    { type: 'user', path: '/proc/1/ns/user' },
    { type: 'mount' },
  ]);
  assert.deepEqual(ns({ net: '' }, { net: 'new', pid: 'host' }), [{ type: 'network' }, { type: 'mount' }]);
});

void test('mounts: defaults (ro when readonly), tmpfs, binds, mounts by destination, sorted', () => {
  const m = oci({
    readonly: true,
    tmpfs: ['/run', '/tmp:size=1m,mode=1777'],
    binds: ['/a:/b', '/c:/d:ro'],
    mounts: [{ type: 'proc' }, { source: 'cgroup', options: ['ro'] }, { destination: '/dev' }],
  }).mounts;
  assert.deepEqual(m, [
    { destination: '/b', type: 'bind', source: '/a', options: ['rw', 'rbind', 'rshared'] },
    { destination: '/d', type: 'bind', source: '/c', options: ['ro', 'rbind'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs' },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
    },
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/run', type: 'tmpfs', source: 'tmpfs' },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro'] },
    { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['size=1m', 'mode=1777'] },
  ]);
});

void test("binds: spec binds replace the label's; binds.add appends to them, duplicates kept", () => {
  const label = { binds: ['/l:/l'] };
  const dests = (entry: Partial<ImageEntry>): string[] =>
    oci(entry, { label })
      .mounts.map((m) => m.destination)
      .filter((d) => d.length === 2);
  assert.deepEqual(dests({}), ['/l']);
  assert.deepEqual(dests({ binds: ['/s:/s'] }), ['/s']);
  assert.deepEqual(dests({ 'binds.add': ['/a:/a', '/l:/l'] }), ['/a', '/l']);
  assert.deepEqual(dests({ binds: ['/s:/s'], 'binds.add': ['/a:/a'] }), ['/s']);
});

void test('mount errors name the field', () => {
  const table: [Partial<ImageEntry>, string][] = [
    [{ tmpfs: ['/a:b:c'] }, 'tmpfs[0]: cannot parse tmpfs "/a:b:c": too many \':\''],
    [{ binds: ['/ok:/ok', '/a'] }, 'binds[1]: cannot parse bind "/a": missing \':\''],
    [{ 'binds.add': ['/a:/b:ro:x'] }, 'binds.add[0]: cannot parse bind "/a:/b:ro:x": too many \':\''],
    [{ mounts: [{ destination: '/x', source: '/y' }] }, 'mounts[0]: mount for destination "/x" is missing type'],
    [{ mounts: [{ type: 'bind', source: '/y' }] }, 'mounts[0]: mount of type "bind" is missing destination'],
  ];
  for (const [entry, detail] of table) fails(entry, {}, { code: 'SPEC_INVALID', message: PREFIX + detail });
  fails(
    {},
    { label: { tmpfs: ['a:b:c'] } },
    { code: 'IMAGE_CONFIG', message: `${PREFIX}tmpfs[0]${LABEL}: cannot parse tmpfs "a:b:c": too many ':'` },
  );
});

void test('rlimits: name normalised, unlimited = 2^64-1 exactly, errors name the entry', () => {
  assert.deepEqual(
    oci({ rlimits: [' nofile , 10 , unlimited', 'RLIMIT_core,0,18446744073709551615', 'as,9007199254740993,1'] })
      .process.rlimits,
    [
      { type: 'RLIMIT_NOFILE', hard: 18446744073709551615n, soft: 10 },
      { type: 'RLIMIT_CORE', hard: 18446744073709551615n, soft: 0 },
      { type: 'RLIMIT_AS', hard: 1, soft: 9007199254740993n },
    ],
  );
  const table: [string, string][] = [
    ['nofile,10', 'cannot parse rlimit "nofile,10": expected "name,soft,hard"'],
    ['nofile,-1,10', 'cannot parse "-1" as an unsigned 64-bit number or "unlimited"'],
    [
      'nofile,1,18446744073709551616',
      'cannot parse "18446744073709551616" as an unsigned 64-bit number or "unlimited"',
    ],
    [
      'files,1,1',
      'unknown rlimit "files" (known: cpu, fsize, data, stack, core, rss, nproc, nofile, memlock, as, locks, sigpending, msgqueue, nice, rtprio, rttime)',
    ],
  ];
  for (const [r, detail] of table)
    fails({ rlimits: [r] }, {}, { code: 'SPEC_INVALID', message: `${PREFIX}rlimits[0]: ${detail}` });
});

void test('uid/gid/additionalGids: numbers, root, "" and container names; unknown names fail', () => {
  const ids = buildIdMap({ onboot: [E({ name: 'a' })], onshutdown: [E({ name: 'b' })], services: [E({ name: 'c' })] });
  assert.deepEqual(
    [...ids],
    [
      ['a', 100],
      ['b', 101],
      ['c', 102],
    ],
  );
  assert.deepEqual(oci({ uid: 'root', gid: '', additionalGids: ['a', 7, 'c'] }, { ids }).process.user, {
    uid: 0,
    gid: 0,
    additionalGids: [100, 7, 102],
  });
  assert.deepEqual(oci({}, { label: { uid: 'b' }, ids }).process.user, { uid: 101, gid: 0 });
  assert.deepEqual(oci({ uid: -1 }).process.user, { uid: 4294967295, gid: 0 });
  fails(
    { gid: 'nobody' },
    { ids },
    {
      code: 'SPEC_INVALID',
      message: `${PREFIX}gid: cannot find id: nobody (no onboot, onshutdown or services entry has that name)`,
    },
  );
  fails(
    { additionalGids: [1, '100'] },
    { ids },
    {
      code: 'SPEC_INVALID',
      message: `${PREFIX}additionalGids[1]: cannot find id: 100 (no onboot, onshutdown or services entry has that name)`,
    },
  );
});

void test('buildIdMap: a repeated name takes the later id, every entry consumes one', () => {
  const ids = buildIdMap({
    onboot: [E({ name: 'x' }), E({ name: 'y' })],
    services: [E({ name: 'x' }), E({ name: 'z' })],
  });
  assert.deepEqual([...ids].sort(), [
    ['x', 102],
    ['y', 101],
    ['z', 103],
  ]);
});

void test('devices: all → cgroup rule only; others → device node + rule; bad modes fail', () => {
  const c = oci({
    devices: [
      { path: 'all', type: 'c', major: 0, minor: 0 },
      { path: '/dev/kvm', type: 'c', major: 10, minor: 232, mode: '0660' },
    ],
    resources: { devices: [{ allow: false, access: 'rwm' }] },
  });
  assert.deepEqual(c.linux.devices, [{ path: '/dev/kvm', type: 'c', major: 10, minor: 232, fileMode: 0o660 }]);
  assert.deepEqual(c.linux.resources.devices, [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', access: 'rwm' },
    { allow: true, type: 'c', major: 10, minor: 232, access: 'rwm' },
  ]);
  for (const mode of [undefined, '', '0999', '0o666']) {
    fails(
      { devices: [{ path: '/dev/x', type: 'c', major: 1, minor: 1, ...(mode === undefined ? {} : { mode }) }] },
      {},
      {
        code: 'SPEC_INVALID',
        message: `${PREFIX}devices[0]: cannot parse device mode ${JSON.stringify(mode ?? '')} as octal value (write it quoted, e.g. mode: "0666")`,
      },
    );
  }
});

void test('readonly, hostname, sysctl, annotations, paths, propagation, oomScoreAdj: spec, else label', () => {
  const label: ImageConfigSpec = {
    readonly: true,
    hostname: 'l',
    sysctl: { a: '1' },
    annotations: { k: 'l' },
    maskedPaths: ['/m'],
    readonlyPaths: ['/r'],
    rootfsPropagation: 'slave',
    cgroupsPath: '/l',
    oomScoreAdj: 5,
    noNewPrivileges: true,
  };
  const l = oci({}, { label });
  assert.equal(l.root.readonly, true);
  assert.equal(l.hostname, 'l');
  assert.deepEqual(
    [l.linux.sysctl, l.annotations, l.linux.maskedPaths, l.linux.readonlyPaths],
    [{ a: '1' }, { k: 'l' }, ['/m'], ['/r']],
  );
  assert.deepEqual(
    [l.linux.rootfsPropagation, l.linux.cgroupsPath, l.process.oomScoreAdj, l.process.noNewPrivileges],
    ['slave', '/l', 5, true],
  );
  const s = oci({ readonly: false, sysctl: {}, oomScoreAdj: 0, noNewPrivileges: false, cgroupsPath: '' }, { label });
  assert.deepEqual(
    [s.root.readonly, s.linux.sysctl, s.process.oomScoreAdj, s.process.noNewPrivileges, s.linux.cgroupsPath],
    [false, {}, 0, false, ''],
  );
});
