/**
 * Bundle layout, runtime.json merging and volume rewriting (docs/linuxkit-behaviour.md#runtime, #volumes, #bundles).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MobyError } from '../util/errors.ts';
import type { ImageConfigSpec, ImageEntry, VolumeSpec } from '../spec/types.ts';
import { bundleFiles, bundlePath } from './bundle.ts';
import { mergeRuntime } from './runtime-json.ts';
import { rewriteVolumeRefs } from './volumes.ts';

const E = (extra: Partial<ImageEntry> = {}): ImageEntry => ({ name: 'svc', image: 'img', ...extra });

void test('bundlePath: %03d- prefix for onboot/onshutdown, none for services', () => {
  assert.equal(bundlePath('onboot', 0, 'dhcpcd'), 'containers/onboot/000-dhcpcd');
  assert.equal(bundlePath('onshutdown', 12, 'x'), 'containers/onshutdown/012-x');
  assert.equal(bundlePath('services', 3, 'getty'), 'containers/services/getty');
});

void test("a de-duplicated image: overlay lowerdir / bind source point at the first container's directory", () => {
  const first = bundleFiles(E({ name: 'a' }), { config: {} }, { idMap: new Map(), section: 'onboot', index: 0 });
  assert.equal(first.extractTo, 'containers/onboot/000-a/lower');
  const rw = bundleFiles(
    E({ name: 'b' }),
    { config: {} },
    { idMap: new Map(), section: 'services', index: 1, sharedRoot: first.root },
  );
  assert.equal(rw.extractTo, undefined);
  assert.deepEqual(rw.runtime.mounts[2]?.options, [
    'lowerdir=/containers/onboot/000-a/lower',
    'upperdir=/containers/services/b/tmp/upper',
    'workdir=/containers/services/b/tmp/work',
  ]);
  const ro = bundleFiles(
    E({ name: 'c' }),
    { config: {}, label: { readonly: true } },
    { idMap: new Map(), section: 'services', index: 2, sharedRoot: first.root },
  );
  assert.equal(ro.readonly, true);
  assert.deepEqual(ro.runtime.mounts, [
    { destination: '/containers/services/c/rootfs', source: '/containers/onboot/000-a/lower', options: ['bind'] },
  ]);
});

void test('runtime.json: each field and each bindNS key from the spec, else the label, else empty', () => {
  const label: ImageConfigSpec = {
    runtime: { cgroups: ['/l'], mkdir: ['/l'], bindNS: { net: '/l', pid: '/lp' }, namespace: 'l' },
  };
  const spec: ImageConfigSpec = { runtime: { mkdir: [], bindNS: { pid: '/sp' }, interfaces: [{ name: 'eth0' }] } };
  assert.deepEqual(mergeRuntime(spec, label), {
    cgroups: ['/l'],
    mounts: [],
    mkdir: [],
    interfaces: [{ name: 'eth0' }],
    bindNS: { cgroup: '', ipc: '', mnt: '', net: '/l', pid: '/sp', user: '', uts: '' },
    namespace: 'l',
  });
});

void test('runtime.json bytes: interfaces keep createInRoot, omit empty name/add/peer', () => {
  const b = bundleFiles(
    E({ readonly: true, runtime: { interfaces: [{ add: 'wireguard', name: 'wg0', createInRoot: true }] } }),
    { config: {} },
    { idMap: new Map(), section: 'services', index: 0 },
  );
  assert.match(
    b.runtimeJson,
    /"interfaces": \[\n {8}\{\n {12}"name": "wg0",\n {12}"add": "wireguard",\n {12}"createInRoot": true\n {8}\}\n {4}\],/,
  );
  assert.ok(!b.runtimeJson.endsWith('\n'));
});

const VOLS: VolumeSpec[] = [{ name: 'data' }, { name: 'cfg', readonly: true }];

void test('volume names in binds, binds.add and bind mounts become /containers/volumes/<name>/merged', () => {
  const e = rewriteVolumeRefs(
    E({
      binds: ['data:/data', '/host:/host', 'cfg:/cfg:ro'],
      'binds.add': ['data:/d2:rw,shared'],
      mounts: [
        { type: 'bind', source: 'data', destination: '/m' },
        { type: 'bind', source: 'cfg', destination: '/c', options: ['ro', 'rw'] },
        { type: 'tmpfs', source: 'data', destination: '/t' },
      ],
    }),
    VOLS,
  );
  assert.deepEqual(e.binds, [
    '/containers/volumes/data/merged:/data',
    '/host:/host',
    '/containers/volumes/cfg/merged:/cfg:ro',
  ]);
  assert.deepEqual(e['binds.add'], ['/containers/volumes/data/merged:/d2:rw,shared']);
  assert.deepEqual(
    e.mounts?.map((m) => m.source),
    ['/containers/volumes/data/merged', '/containers/volumes/cfg/merged', 'data'],
  );
});

void test('volume misuse: unknown volume, read-write bind of a read-only volume', () => {
  const table: [Partial<ImageEntry>, string][] = [
    [{ binds: ['nope:/x'] }, 'binds[0]: volume "nope" not found'],
    [
      { 'binds.add': ['/a:/a', 'cfg:/cfg'] },
      'binds.add[1]: volume "cfg" is read-only, but attempting to write into container read-write (bind it with the option "ro")',
    ],
    [
      { binds: ['cfg:/cfg:ro,shared'] },
      'binds[0]: volume "cfg" is read-only, but attempting to write into container read-write (bind it with the option "ro")',
    ],
    [
      { mounts: [{ type: 'bind', source: 'cfg', destination: '/c', options: ['rw', 'ro'] }] },
      'mounts[0]: volume "cfg" is read-only, but attempting to write into container read-write (add the option "ro")',
    ],
  ];
  for (const [entry, detail] of table) {
    assert.throws(
      () => rewriteVolumeRefs(E(entry), VOLS),
      (err: unknown) => {
        assert.ok(err instanceof MobyError);
        assert.equal(err.code, 'SPEC_INVALID');
        assert.equal(err.message, `Cannot use a volume in container "svc" (image "img"): ${detail}`);
        return true;
      },
    );
  }
});

void test('bundleFiles rewrites volume names before building config.json (binds and bind mounts)', () => {
  const b = bundleFiles(
    E({ binds: ['data:/data'], mounts: [{ type: 'bind', source: 'cfg', destination: '/cfg', options: ['ro'] }] }),
    { config: {} },
    {
      idMap: new Map(),
      section: 'onboot',
      index: 1,
      volumes: VOLS,
    },
  );
  const byDest = new Map(b.config.mounts.map((m) => [m.destination, m]));
  assert.deepEqual(byDest.get('/data'), {
    destination: '/data',
    type: 'bind',
    source: '/containers/volumes/data/merged',
    options: ['rw', 'rbind', 'rshared'],
  });
  assert.deepEqual(byDest.get('/cfg'), {
    destination: '/cfg',
    type: 'bind',
    source: '/containers/volumes/cfg/merged',
    options: ['ro'],
  });
  assert.throws(
    () => bundleFiles(E({ binds: ['data:/data'] }), { config: {} }, { idMap: new Map(), section: 'onboot', index: 1 }),
    /volume "data" not found/,
  );
});
