import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import type { ImageSource } from '../image/source.ts';
import { digestOf } from '../oci/digest.ts';
import { parseReference } from '../oci/reference.ts';
import type { MobySpec } from '../spec/types.ts';
import type { EntryStream, TarEntry, TarHeader } from '../tar/entry.ts';
import { recordingReporter, type Reporter } from '../util/reporter.ts';
import { assembleRootfs, type ResolvedImages } from './assemble.ts';
import type { RootfsDeps } from './deps.ts';
import { planFiles } from './files.ts';
import { readBody } from './synth.ts';
import { checkReadonlyVolumes } from './volumes.ts';

// Small in-memory images: the real flattening/registry are exercised by test/pipeline/.
type Fake = Array<Partial<TarHeader> & { name: string; data?: string }>;

function source(ref: string): ImageSource {
  return {
    ref: parseReference(ref),
    manifestDigest: digestOf(ref),
    manifest: { schemaVersion: 2, config: { mediaType: '', digest: digestOf('c'), size: 1 }, layers: [] },
    config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
    openLayer: () => Promise.reject(new Error('unused')),
    openBlob: () => Promise.reject(new Error('unused')),
  };
}

function entries(fake: Fake): EntryStream {
  return (async function* () {
    await Promise.resolve();
    for (const f of fake) {
      const data = Buffer.from(f.data ?? '');
      const type = f.type ?? (f.data === undefined ? 'directory' : 'file');
      const header: TarHeader = {
        mode: 0o755,
        uid: 0,
        gid: 0,
        mtime: 1,
        size: type === 'file' ? data.length : 0,
        ...f,
        type,
      };
      yield type === 'file' ? { header, body: Readable.from([data]) } : { header };
    }
  })();
}

function deps(images: Record<string, Fake>): RootfsDeps {
  return {
    flatten: (s) => entries(images[s.ref.expanded] ?? []),
    readTar: () => entries([{ name: 'lib/modules/6.6/mod.ko', data: 'ko' }]),
    decompressKernel: (k) => Promise.resolve(k),
    bundle: (i) => {
      const path = `containers/${i.section}/${i.section === 'services' ? '' : `00${i.index}-`}${i.entry.name}`;
      const readonly = i.entry.readonly === true;
      const own = `${path}/${readonly ? 'rootfs' : 'lower'}`;
      return {
        path,
        readonly,
        extractTo: i.sharedRoot === undefined ? own : undefined,
        configJson: `{"root":"/${i.sharedRoot ?? own}"}`,
        runtimeJson: '{}',
      };
    },
    renderMetadata: () => 'meta',
  };
}

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function assemble(
  spec: MobySpec,
  images: ResolvedImages,
  d: RootfsDeps,
  extra: { sbom?: boolean; reporter?: Reporter } = {},
): Promise<Array<{ e: TarEntry; data: string }>> {
  const workDir = await mkdtemp(join(tmpdir(), 'rootfs-test-'));
  dirs.push(workDir);
  const files = await planFiles(spec.files ?? [], {
    specDirs: [],
    idMap: new Map([['getty', 102]]),
    metadata: () => 'meta',
  });
  const out: Array<{ e: TarEntry; data: string }> = [];
  const stream = assembleRootfs({
    spec,
    images,
    files,
    deps: d,
    mtime: 1492533000,
    workDir,
    decompressKernel: false,
    dockerfile: false,
    reporter: extra.reporter ?? recordingReporter(),
    ...(extra.sbom === true ? { sbom: { path: 'sbom.spdx.json', created: 1492533000 } } : {}),
  });
  for await (const e of stream) out.push({ e, data: (await readBody(e)).toString() });
  return out;
}

const names = (l: Array<{ e: TarEntry }>): string[] => l.map((x) => x.e.header.name);
const TOUCH = (p: string): string[] =>
  ['dev', 'dev/pts', 'dev/shm', 'etc', 'etc/hosts', 'etc/mtab', 'etc/resolv.conf', 'proc', 'sys'].map((n) =>
    p === '' ? n : `${p}/${n}`,
  );

void test('sections come in LinuxKit order, each path once', async () => {
  const spec: MobySpec = {
    kernel: { image: 'linuxkit/kernel:6.6', cmdline: 'console=ttyS0' },
    init: ['linuxkit/init:1'],
    onboot: [{ name: 'dhcpcd', image: 'linuxkit/dhcpcd:1' }],
    services: [{ name: 'getty', image: 'linuxkit/getty:1', readonly: true }],
    files: [{ path: 'etc/motd', contents: 'hi', mode: '0644' }],
  };
  const images = {
    'docker.io/linuxkit/kernel:6.6': [
      { name: 'System.map', data: 'x' },
      { name: 'kernel.tar', data: 'tar' },
      { name: 'kernel', data: 'KERNEL' },
    ],
    'docker.io/linuxkit/init:1': [
      { name: 'etc', mode: 0o755 },
      { name: 'etc/hosts', data: 'mine' },
      { name: 'sbin' },
      { name: 'sbin/init', data: 'i', mode: 0o700 },
    ],
    'docker.io/linuxkit/dhcpcd:1': [{ name: 'sbin' }, { name: 'sbin/dhcpcd', data: 'd' }],
    'docker.io/linuxkit/getty:1': [{ name: 'usr' }],
  };
  const list = await assemble(
    spec,
    {
      kernel: source(spec.kernel!.image),
      init: [source('linuxkit/init:1')],
      volumes: [],
      containers: [
        { section: 'onboot', index: 0, entry: spec.onboot![0]!, source: source('linuxkit/dhcpcd:1') },
        { section: 'services', index: 0, entry: spec.services![0]!, source: source('linuxkit/getty:1') },
      ],
    },
    deps(images),
    { sbom: true },
  );
  const ob = 'containers/onboot/000-dhcpcd';
  const sv = 'containers/services/getty';
  assert.deepEqual(names(list), [
    'boot',
    'boot/kernel',
    'boot/cmdline',
    'lib',
    'lib/modules',
    'lib/modules/6.6',
    'lib/modules/6.6/mod.ko',
    'etc',
    'etc/hosts',
    'sbin',
    'sbin/init',
    ...TOUCH('').filter((n) => n !== 'etc' && n !== 'etc/hosts'),
    'containers',
    'containers/onboot',
    ob,
    `${ob}/lower`,
    `${ob}/lower/sbin`,
    `${ob}/lower/sbin/dhcpcd`,
    ...TOUCH(`${ob}/lower`),
    `${ob}/config.json`,
    `${ob}/tmp`,
    `${ob}/rootfs`,
    `${ob}/runtime.json`,
    'containers/services',
    sv,
    `${sv}/rootfs`,
    `${sv}/rootfs/usr`,
    ...TOUCH(`${sv}/rootfs`),
    `${sv}/config.json`,
    `${sv}/runtime.json`,
    'etc/motd',
    'sbom.spdx.json',
  ]);
  const by = new Map(list.map((x) => [x.e.header.name, x]));
  assert.equal(by.get('boot/kernel')?.data, 'KERNEL');
  assert.equal(by.get('boot/cmdline')?.data, 'console=ttyS0');
  assert.match(by.get('etc/hosts')?.data ?? '', /^127\.0\.0\.1 {7}localhost\n/);
  assert.equal(by.get('etc/resolv.conf')?.e.header.linkname, '/run/resolvconf/resolv.conf');
  assert.equal(by.get(`${ob}/lower/etc/resolv.conf`)?.data, '\n# no resolv.conf configured\n');
  assert.equal(by.get('etc')?.e.header.mode, 0o755, 'a file in /etc must not change /etc');
  const pax = Object.fromEntries(
    (by.get(`${ob}/lower/sbin/dhcpcd`)?.e.header.pax ?? []).map(([k, v]) => [k, v.toString()]),
  );
  assert.deepEqual(pax, { 'LINUXKIT.source': 'docker.io/linuxkit/dhcpcd:1', 'LINUXKIT.location': 'onboot[0]' });
  assert.equal(by.get(`${sv}/config.json`)?.data, `{"root":"/${sv}/rootfs"}`);
});

void test('an image shared by two containers is unpacked once; the second points at the first', async () => {
  const a = { name: 'a', image: 'alpine:3' };
  const b = { name: 'b', image: 'alpine:3' };
  const list = await assemble(
    { onboot: [a, b] },
    {
      init: [],
      volumes: [],
      containers: [
        { section: 'onboot', index: 0, entry: a, source: source('alpine:3') },
        { section: 'onboot', index: 1, entry: b, source: source('alpine:3') },
      ],
    },
    deps({ 'docker.io/library/alpine:3': [{ name: 'bin/sh', data: 'sh' }] }),
  );
  const n = names(list);
  assert.equal(n.filter((x) => x.endsWith('bin/sh')).length, 1);
  assert.ok(
    n.includes('containers/onboot/001-b/config.json') && !n.some((x) => x.startsWith('containers/onboot/001-b/lower')),
  );
  assert.equal(
    list.find((x) => x.e.header.name === 'containers/onboot/001-b/config.json')?.data,
    '{"root":"/containers/onboot/000-a/lower"}',
  );
});

void test('layer names cannot escape the container directory', async () => {
  const c = { name: 'x', image: 'evil:1' };
  const items = {
    init: [],
    volumes: [],
    containers: [{ section: 'services' as const, index: 0, entry: c, source: source('evil:1') }],
  };
  const list = await assemble(
    { services: [c] },
    items,
    deps({
      'docker.io/library/evil:1': [
        { name: '../../etc/shadow', data: 's' },
        { name: 'hl', type: 'link', linkname: '../../../etc/shadow' },
      ],
    }),
  );
  const shadow = list.find((x) => x.e.header.name.endsWith('shadow'));
  assert.equal(shadow?.e.header.name, 'containers/services/x/lower/etc/shadow');
  assert.equal(
    list.find((x) => x.e.header.type === 'link')?.e.header.linkname,
    'containers/services/x/lower/etc/shadow',
  );
  await assert.rejects(
    assemble(
      { services: [c] },
      items,
      deps({
        'docker.io/library/evil:1': [
          { name: 'up', type: 'symlink', linkname: '/etc' },
          { name: 'up/passwd', data: 'root::0:0' },
        ],
      }),
    ),
    {
      code: 'UNSAFE_CONTENT',
      message:
        'Cannot unpack "docker.io/library/evil:1" into "containers/services/x/lower": entry "up/passwd" is reached through the symlink "up"',
    },
  );
});

void test('later init images win for files; apk databases are consolidated once', async () => {
  const db = (s: string): Fake[number] => ({ name: 'lib/apk/db/installed', data: s });
  const list = await assemble(
    { init: ['i1:1', 'i2:1'] },
    { init: [source('i1:1'), source('i2:1')], volumes: [], containers: [] },
    deps({
      'docker.io/library/i1:1': [{ name: 'etc', mode: 0o700 }, { name: 'etc/x', data: 'one' }, db('A')],
      'docker.io/library/i2:1': [{ name: 'etc', mode: 0o755 }, { name: 'etc/x', data: 'two' }, db('B')],
    }),
  );
  const all = names(list);
  assert.equal(new Set(all).size, all.length, 'no duplicate paths');
  const by = new Map(list.map((x) => [x.e.header.name, x]));
  assert.equal(by.get('etc/x')?.data, 'two');
  assert.equal(by.get('etc')?.e.header.mode, 0o700, 'a directory keeps its first entry');
  assert.equal(by.get('lib/apk/db/installed')?.data, 'A\n\nB\n\n');
  assert.equal(by.get('lib/apk/db/installed')?.e.header.mtime, 0);
  assert.equal(all.at(-1), 'lib/apk/db/installed');
});

void test('files: parents created only when missing, with derived modes; a file overrides an image file', async () => {
  const list = await assemble(
    {
      init: ['i1:1'],
      files: [
        { path: '/etc/x', contents: 'from files' },
        { path: 'opt/a/b', contents: '', mode: '0640', uid: 'getty', gid: 7 },
        { path: 'etc', directory: true, mode: '0700' },
        { path: 'l', symlink: '/etc/x' },
        { path: 'gone', source: '/nonexistent', optional: true },
      ],
    },
    { init: [source('i1:1')], volumes: [], containers: [] },
    deps({
      'docker.io/library/i1:1': [
        { name: 'etc', mode: 0o755 },
        { name: 'etc/x', data: 'image' },
      ],
    }),
  );
  const by = new Map(list.map((x) => [x.e.header.name, x.e.header]));
  assert.equal(list.find((x) => x.e.header.name === 'etc/x')?.data, 'from files');
  assert.equal(by.get('etc')?.mode, 0o755);
  assert.deepEqual(
    [by.get('opt')?.mode, by.get('opt/a')?.mode, by.get('opt/a')?.uid, by.get('opt/a/b')?.mode, by.get('opt/a/b')?.gid],
    [0o750, 0o750, 102, 0o640, 7],
  );
  assert.deepEqual([by.get('l')?.type, by.get('l')?.linkname, by.get('l')?.mode], ['symlink', '/etc/x', 0o600]);
  assert.equal(by.has('gone'), false);
});

void test('a read-only volume bound read-write is refused', () => {
  const spec: MobySpec = {
    volumes: [{ name: 'vola', readonly: true }],
    onboot: [{ name: 'w', image: 'alpine', binds: ['vola:/vola'] }],
  };
  assert.throws(() => checkReadonlyVolumes(spec), {
    message:
      'Cannot bind volume "vola" into onboot[0] "w": the volume is read-only, but the container would write to it',
  });
  assert.doesNotThrow(() =>
    checkReadonlyVolumes({ ...spec, onboot: [{ name: 'w', image: 'alpine', binds: ['vola:/vola:ro'] }] }),
  );
  assert.throws(() =>
    checkReadonlyVolumes({
      ...spec,
      onboot: [{ name: 'w', image: 'alpine', mounts: [{ source: 'vola', options: ['rw', 'ro'] }] }],
    }),
  );
});

void test('a hardlink whose target a later init image replaces fails clearly instead of dangling', async () => {
  await assert.rejects(
    assemble(
      { init: ['i1:1', 'i2:1'] },
      { init: [source('i1:1'), source('i2:1')], volumes: [], containers: [] },
      deps({
        'docker.io/library/i1:1': [
          { name: 'b', data: 'one' },
          { name: 'a', type: 'link', linkname: 'b' },
        ],
        'docker.io/library/i2:1': [{ name: 'b', data: 'two' }],
      }),
    ),
    {
      code: 'UNSAFE_CONTENT',
      message: 'Cannot add the hardlink "a" of init[0]: its target "b" is replaced by init[1]',
    },
  );
});

void test('files that cannot change what the images put there say so', async () => {
  const reporter = recordingReporter();
  const list = await assemble(
    {
      init: ['i1:1'],
      files: [
        { path: 'etc', directory: true, mode: '0700' },
        { path: 'etc/ssh', contents: 'x' },
      ],
    },
    { init: [source('i1:1')], volumes: [], containers: [] },
    deps({
      'docker.io/library/i1:1': [
        { name: 'etc', mode: 0o755 },
        { name: 'etc/ssh', mode: 0o755 },
      ],
    }),
    { reporter },
  );
  assert.deepEqual(
    reporter.events.filter((e) => e.type === 'warn').map((e) => e.type === 'warn' && e.message),
    [
      'files[0]: "etc" already exists in the image; its mode and owner are left unchanged',
      'files[1]: "etc/ssh" is not written: the image has a directory there',
    ],
  );
  assert.equal(list.find((x) => x.e.header.name === 'etc/ssh')?.e.header.type, 'directory');
});

// LinuxKit #3153: an init image whose /lib is a symlink (Debian's usrmerge) lost it to the kernel's lib/modules,
// so the dynamic loader did not resolve and every container exited 127.
void test("the kernel's modules go through an init image's /lib symlink, and the symlink stays", async () => {
  for (const linkname of ['usr/lib', '/usr/lib', './usr/../usr/lib']) {
    const spec: MobySpec = { kernel: { image: 'linuxkit/kernel:6.6' }, init: ['debian:12'] };
    const images = {
      'docker.io/linuxkit/kernel:6.6': [
        { name: 'kernel.tar', data: 'tar' },
        { name: 'kernel', data: 'K' },
      ],
      'docker.io/library/debian:12': [
        { name: 'lib', type: 'symlink' as const, linkname },
        { name: 'usr', mode: 0o755 },
        { name: 'usr/lib', mode: 0o755 },
        { name: 'usr/lib/ld.so', data: 'ld' },
      ],
    };
    const reporter = recordingReporter();
    const list = await assemble(
      spec,
      { kernel: source('linuxkit/kernel:6.6'), init: [source('debian:12')], volumes: [], containers: [] },
      deps(images),
      { reporter },
    );
    assert.deepEqual(
      names(list).slice(0, 10),
      [
        'boot',
        'boot/kernel',
        'boot/cmdline',
        'usr',
        'usr/lib',
        'usr/lib/modules',
        'usr/lib/modules/6.6',
        'usr/lib/modules/6.6/mod.ko',
        'lib',
        'usr/lib/ld.so',
      ],
      linkname,
    );
    const lib = list.find((x) => x.e.header.name === 'lib')?.e.header;
    assert.equal(lib?.type, 'symlink');
    assert.equal(lib?.linkname, linkname);
    assert.deepEqual(
      reporter.events.filter((e) => e.type === 'warn'),
      [],
    );
  }
});

void test('two init images that disagree on /lib (directory vs symlink) fail the build naming both and the path', async () => {
  const spec: MobySpec = { kernel: { image: 'linuxkit/kernel:6.6' }, init: ['linuxkit/init:1', 'debian:12'] };
  const images = {
    'docker.io/linuxkit/kernel:6.6': [
      { name: 'kernel.tar', data: 'tar' },
      { name: 'kernel', data: 'K' },
    ],
    'docker.io/linuxkit/init:1': [{ name: 'lib' }, { name: 'lib/ld-musl.so', data: 'ld' }],
    'docker.io/library/debian:12': [
      { name: 'lib', type: 'symlink' as const, linkname: 'usr/lib' },
      { name: 'usr' },
      { name: 'usr/lib' },
    ],
  };
  for (const order of [
    [0, 1],
    [1, 0],
  ]) {
    const init = order.map((i) => source(spec.init![i]!));
    await assert.rejects(
      assemble(
        { ...spec, init: order.map((i) => spec.init![i]!) },
        { kernel: source('linuxkit/kernel:6.6'), init, volumes: [], containers: [] },
        deps(images),
      ),
      {
        code: 'IMAGE_CONFIG',
        message:
          'Init images collide on "/lib": "docker.io/linuxkit/init:1" has a directory there, "docker.io/library/debian:12" a symlink to "usr/lib"; one of them would be lost (the directory is kept, so the programs of "docker.io/library/debian:12" that need "/lib" would not run)',
      },
    );
  }
});
