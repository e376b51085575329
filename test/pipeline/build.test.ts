/**
 * `mobyts build` end to end: real registry, generated images, the real CLI as a child process. Asserts what a
 * user sees: exact `tar -tvf` listings, initrd contents as `cpio` reads them, byte-identical rebuilds under a
 * different TZ/umask/TMPDIR, streaming to stdout, atomic outputs and the error text and exit codes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readTarFile } from '../../src/tar/io.ts';
import type { TarEntry } from '../../src/tar/entry.ts';
import { startFixture, type Fixture } from './fixture.ts';

let f: Fixture;
let osSpec: string;

const SPEC = `
kernel:
  image: HOST/test/kernel:1
  cmdline: "console=ttyS0 quiet"
init:
  - HOST/test/init:1
  - HOST/test/init2:1
onboot:
  - name: one
    image: HOST/test/svc:1
onshutdown:
  - name: bye
    image: HOST/test/data:1
    readonly: true
services:
  - name: svc
    image: HOST/test/svc:1
    binds: ["vola:/vola:ro"]
volumes:
  - name: vola
    readonly: true
  - name: volb
    image: HOST/test/data:1
files:
  - path: etc/mobyts/config
    contents: "hello"
    mode: "0644"
  - path: /etc/from-source
    source: data.txt
  - path: var/lib/owned
    directory: true
    uid: svc
    gid: one
`;

before(async () => {
  f = await startFixture();
  osSpec = await f.spec('os.yml', SPEC);
  await writeFile(join(f.dir, 'data.txt'), 'from a host file\n');
});
after(() => f.cleanup());

function listing(tarPath: string): string {
  return execFileSync('tar', ['--numeric-owner', '-tvf', tarPath], {
    env: { TZ: 'UTC', LANG: 'C', PATH: process.env['PATH'] ?? '' },
    stdio: ['ignore', 'pipe', 'ignore'],
  })
    .toString()
    .replace(/^(\S+ \S+ +)\d+( .* sbom\.spdx\.json)$/m, '$1SIZE$2');
}

async function entries(
  tarPath: string,
): Promise<Map<string, { e: TarEntry; pax: Record<string, string>; data: string }>> {
  const out = new Map<string, { e: TarEntry; pax: Record<string, string>; data: string }>();
  for await (const e of readTarFile(tarPath)) {
    const chunks: Buffer[] = [];
    for await (const c of e.body ?? []) chunks.push(c as Buffer);
    assert.equal(out.has(e.header.name), false, `duplicate entry ${e.header.name}`);
    out.set(e.header.name, {
      e,
      pax: Object.fromEntries((e.header.pax ?? []).map(([k, v]) => [k, v.toString('latin1')])),
      data: Buffer.concat(chunks).toString(),
    });
  }
  return out;
}

async function outDir(name: string): Promise<string> {
  const d = join(f.dir, name);
  await mkdir(d, { recursive: true });
  return d;
}

const GOLDEN = await readFile(new URL('./os.tar.golden', import.meta.url), 'utf8');

void test('tar: exact listing, one entry per path, provenance on every entry', async () => {
  const dir = await outDir('tar');
  const r = await f.cli(['-f', 'tar', '-d', dir, osSpec], { cwd: join(f.dir, 'home') });
  assert.equal(r.stderr.includes('Error'), false, r.stderr);
  assert.equal(r.code, 0);
  assert.equal(listing(join(dir, 'os.tar')), GOLDEN);
  const all = await entries(join(dir, 'os.tar'));
  for (const [name, x] of all) {
    assert.ok(
      x.pax['LINUXKIT.source'] !== undefined && x.pax['LINUXKIT.location'] !== undefined,
      `${name} has provenance`,
    );
  }
  const get = (n: string): { e: TarEntry; pax: Record<string, string>; data: string } =>
    all.get(n) ?? assert.fail(`no ${n}`);
  assert.deepEqual(
    [get('sbin/init').pax['LINUXKIT.location'], get('sbin/init').pax['SCHILY.xattr.security.capability']],
    ['init[0]', '\x01\x00\x00\x02'],
  );
  assert.equal(get('etc/passwd').data, 'root:x:0:0:second:/root:/bin/sh\n', 'the later init image wins');
  assert.equal(get('lib/apk/db/installed').data, 'P:init\n\n\nP:init2\n\n\n');
  assert.equal(get('etc/from-source').data, 'from a host file\n', 'source is relative to the spec file, not the CWD');
  assert.deepEqual([get('var/lib/owned').e.header.uid, get('var/lib/owned').e.header.gid], [102, 100]);
  assert.equal(get('boot/cmdline').data, 'console=ttyS0 quiet');
  const svc = JSON.parse(get('containers/services/svc/runtime.json').data) as { mounts: Array<{ options?: string[] }> };
  assert.ok(
    svc.mounts.some((m) => m.options?.includes('lowerdir=/containers/onboot/000-one/lower')),
    'the shared image is read from the first container',
  );
  assert.match(get('containers/services/svc/config.json').data, /"CAP_NET_ADMIN"/);
  const sbom = JSON.parse(get('sbom.spdx.json').data) as { spdxVersion: string; packages: Array<{ name: string }> };
  assert.equal(sbom.spdxVersion, 'SPDX-2.3');
  assert.deepEqual(
    sbom.packages.map((p) => p.name.replace(f.host, 'HOST')),
    ['HOST/test/data:1', 'HOST/test/init2:1', 'HOST/test/init:1', 'HOST/test/kernel:1', 'HOST/test/svc:1'],
  );
});

const ALL = ['kernel+initrd', 'tar-kernel-initrd', 'tar', 'docker'];

async function filesIn(dir: string): Promise<Map<string, Buffer>> {
  const names = (await readdir(dir)).sort();
  return new Map(await Promise.all(names.map(async (n) => [n, await readFile(join(dir, n))] as [string, Buffer])));
}

void test('two builds under a different TZ, umask, TMPDIR and locale give byte-identical outputs, mode 0644', async () => {
  const a = await outDir('repro-a');
  const b = await outDir('repro-b');
  const tmpB = await outDir('tmp-b');
  const ra = await f.cli(['-f', ALL.join(','), '-d', a, osSpec], { TZ: 'UTC', umask: '022' });
  const rb = await f.cli(['-f', ALL.join(','), '-d', b, osSpec], {
    TZ: 'Pacific/Chatham',
    umask: '077',
    TMPDIR: tmpB,
    env: { LANG: 'de_DE.UTF-8', LC_ALL: 'tr_TR.UTF-8' },
  });
  assert.deepEqual([ra.code, rb.code], [0, 0], ra.stderr + rb.stderr);
  const fa = await filesIn(a);
  const fb = await filesIn(b);
  assert.deepEqual(
    [...fa.keys()],
    ['os-cmdline', 'os-initrd.img', 'os-initrd.tar', 'os-kernel', 'os.docker', 'os.tar'],
  );
  for (const [name, bytes] of fa) assert.ok(bytes.equals(fb.get(name) ?? Buffer.alloc(0)), `${name} differs`);
  for (const name of fb.keys()) assert.equal((await stat(join(b, name))).mode & 0o777, 0o644, name);
  assert.deepEqual(await readdir(tmpB), [], 'the work directory is removed');
  const c = await outDir('repro-c');
  const rc = await f.cli(['-d', c, osSpec]);
  assert.equal(rc.code, 0, rc.stderr);
  assert.deepEqual(
    (await readdir(c)).sort(),
    ['os-cmdline', 'os-initrd.img', 'os-kernel'],
    'kernel+initrd is the default',
  );
  assert.ok(
    (await readFile(join(c, 'os-initrd.img'))).equals(fa.get('os-initrd.img') ?? Buffer.alloc(0)),
    'the initrd streamed without a temp tar is the same',
  );
  assert.equal(fa.get('os-cmdline')?.toString(), 'console=ttyS0 quiet');
  assert.equal(fa.get('os-kernel')?.toString(), 'KERNEL-IMAGE-BYTES');
});

void test('the initrd holds the filesystem minus boot/* (cpio agrees), and tar-kernel-initrd wraps it', async () => {
  const dir = join(f.dir, 'repro-a');
  const env = { TZ: 'UTC', LANG: 'C', PATH: process.env['PATH'] ?? '' };
  const cpioNames = execFileSync('sh', ['-c', 'gzip -dc os-initrd.img | cpio -it --quiet'], { cwd: dir, env })
    .toString()
    .trim()
    .split('\n');
  const tarNames = execFileSync('tar', ['-tf', 'os.tar'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'ignore'] })
    .toString()
    .trim()
    .split('\n');
  assert.deepEqual(
    cpioNames,
    tarNames.filter((n) => !n.startsWith('boot/')),
  );
  const cpioLong = execFileSync(
    'sh',
    [
      '-c',
      'gzip -dc os-initrd.img | cpio -itv --quiet --numeric-uid-gid | grep -E " (etc|var/lib/owned|etc/resolv.conf -> .*)$"',
    ],
    { cwd: dir, env },
  ).toString();
  assert.match(cpioLong, /^drwxr-xr-x +\d+ 0 +0 +0 Nov 14 {2}2023 etc$/m, '/etc keeps the image mode');
  assert.match(cpioLong, /^drwx------ +\d+ 102 +100 +0 Apr 18 {2}2017 var\/lib\/owned$/m);
  assert.equal(
    execFileSync('tar', ['-tvf', 'os-initrd.tar', '--numeric-owner'], { cwd: dir, env }).toString(),
    '-rw-r--r-- 0/0              18 2017-04-18 16:30 kernel\n' +
      `-rw-r--r-- 0/0            ${String((await stat(join(dir, 'os-initrd.img'))).size).padStart(4)} 2017-04-18 16:30 initrd.img\n` +
      '-rw-r--r-- 0/0              19 2017-04-18 16:30 cmdline\n',
  );
  const inner = execFileSync('tar', ['-xOf', 'os-initrd.tar', 'initrd.img'], { cwd: dir, env });
  assert.ok(inner.equals(await readFile(join(dir, 'os-initrd.img'))));
  const docker = execFileSync('tar', ['-tf', 'os.docker'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'ignore'] })
    .toString()
    .trim()
    .split('\n');
  assert.deepEqual(docker, [...tarNames.slice(0, -1), 'Dockerfile', 'sbom.spdx.json']);
  assert.equal(
    execFileSync('tar', ['-xOf', 'os.docker', 'Dockerfile'], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString(),
    'FROM scratch\nCOPY . ./\nENTRYPOINT ["/bin/rc.init"]\n',
  );
});

void test('-o - streams the tar to stdout (same bytes as the file); -o FILE for docker', async () => {
  const r = await f.cli(['-o', '-', osSpec]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.equals(await readFile(join(f.dir, 'repro-a', 'os.tar'))), 'stdout is the tar');
  assert.match(r.stderr, /^Extract kernel image: 127\.0\.0\.1:\d+\/test\/kernel:1$/m, 'logs go to stderr');
  const out = join(f.dir, 'stream.docker');
  const d = await f.cli(['-f', 'docker', '-o', out, osSpec]);
  assert.equal(d.code, 0, d.stderr);
  assert.ok((await readFile(out)).equals(await readFile(join(f.dir, 'repro-a', 'os.docker'))));
});

void test('SOURCE_DATE_EPOCH sets the time of synthesized entries and the SBOM', async () => {
  const dir = await outDir('sde');
  const r = await f.cli(['-f', 'tar', '-d', dir, osSpec], { env: { SOURCE_DATE_EPOCH: '1600000000' } });
  assert.equal(r.code, 0, r.stderr);
  const all = await entries(join(dir, 'os.tar'));
  assert.deepEqual(
    [
      all.get('boot/kernel')?.e.header.mtime,
      all.get('etc/hosts')?.e.header.mtime,
      all.get('sbin/init')?.e.header.mtime,
    ],
    [1600000000, 1600000000, 1700000000],
  );
  assert.match(all.get('sbom.spdx.json')?.data ?? '', /"created": "2020-09-13T12:26:40Z"/);
  const noSbom = await f.cli(['-f', 'tar', '-o', '-', '--no-sbom', osSpec]);
  assert.equal(
    execFileSync('tar', ['-t'], { input: noSbom.stdout, stdio: ['pipe', 'pipe', 'ignore'] })
      .toString()
      .includes('sbom.spdx.json'),
    false,
  );
});

async function noOutputs(dir: string): Promise<void> {
  assert.deepEqual(
    (await readdir(dir)).filter((n) => n !== 'spec.yml'),
    [],
    'no output and no temp file is left',
  );
}

void test('a layer that tries to escape fails the build: exit 1, the reason, no output left', async () => {
  const dir = await outDir('evil');
  const spec = await f.spec(
    'evil/spec.yml',
    'kernel:\n  image: HOST/test/kernel:1\nservices:\n  - name: evil\n    image: HOST/test/evil:1\n',
  );
  const r = await f.cli(['-f', 'tar,kernel+initrd', '-d', dir, spec]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^Error: .*"\.\.\/\.\.\/\.\.\/\.\.\/etc\/evil".*$/m);
  await noOutputs(dir);
});

void test('a missing image fails before any output: exit 1, the error names the image', async () => {
  const dir = await outDir('missing');
  const spec = await f.spec('missing/spec.yml', 'init:\n  - HOST/test/nope:1\n');
  const r = await f.cli(['-f', 'tar', '-d', dir, spec]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^Error: Cannot pull "127\.0\.0\.1:\d+\/test\/nope:1"/m);
  await noOutputs(dir);
});

void test('usage errors exit 2 before any pull; spec errors are printed with their position and exit 1', async () => {
  const unknown = await f.cli(['-f', 'tar,floppy', osSpec]);
  assert.deepEqual(
    [unknown.code, unknown.stderr.split('\n')[0]],
    [2, 'Error: Cannot build format "floppy": unknown format'],
  );
  const stream = await f.cli(['-f', 'kernel+initrd', '-o', '-', osSpec]);
  assert.deepEqual(
    [stream.code, stream.stderr.split('\n')[0]],
    [2, 'Error: Cannot write kernel+initrd to -o: only one format, tar or docker, can go to a single file or stdout'],
  );
  assert.equal(stream.stdout.length, 0);
  const dir = await outDir('bad');
  const bad = await f.spec(
    'bad/spec.yml',
    'kernel:\n  image: HOST/test/kernel:1\nonboot:\n  - name: x\n    image: HOST/test/svc:1\n    capabilities: [CAP_NET_ADMN]\n',
  );
  const r = await f.cli(['-f', 'tar', '-d', dir, bad]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /spec\.yml:6:\d+: .*CAP_NET_ADMN/);
  await noOutputs(dir);
  const ro = await f.spec(
    'bad/spec.yml',
    'volumes:\n  - name: vola\n    readonly: true\nonboot:\n  - name: w\n    image: HOST/test/svc:1\n    binds: ["vola:/vola"]\n',
  );
  const rr = await f.cli(['-f', 'tar', '-d', dir, ro]);
  assert.equal(rr.code, 1);
  assert.match(
    rr.stderr,
    /spec\.yml:7:13: onboot\[0\]\.binds\[0\]: volume "vola" is read-only, but attempting to write into container read-write/,
  );
  await noOutputs(dir);
});

void test('kernel.ucode: boot/ucode.cpio in the tar, prepended to NAME-initrd.img, ucode.cpio in tar-kernel-initrd', async () => {
  const dir = await outDir('ucode');
  const spec = await f.spec(
    'ucode/u.yml',
    'kernel:\n  image: HOST/test/kernel:1\n  ucode: intel-ucode.cpio\n  tar: none\ninit:\n  - HOST/test/data:1\n',
  );
  const r = await f.cli(['-f', 'tar,kernel+initrd,tar-kernel-initrd', '--no-sbom', '-d', dir, spec]);
  assert.equal(r.code, 0, r.stderr);
  const env = { TZ: 'UTC', LANG: 'C', PATH: process.env['PATH'] ?? '' };
  const tarList = execFileSync('tar', ['-tf', 'u.tar'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'ignore'] })
    .toString()
    .split('\n')
    .slice(0, 5);
  assert.deepEqual(
    tarList,
    ['boot', 'boot/kernel', 'boot/cmdline', 'boot/ucode.cpio', 'data'],
    'no modules tar with tar: none',
  );
  const initrd = await readFile(join(dir, 'u-initrd.img'));
  assert.equal(initrd.subarray(0, 16).toString(), 'UCODE-CPIO-BYTES');
  assert.deepEqual([...initrd.subarray(16, 18)], [0x1f, 0x8b], 'then the gzip initrd');
  assert.deepEqual(
    await readdir(dir).then((n) => n.sort()),
    ['u-initrd.img', 'u-initrd.tar', 'u-kernel', 'u.tar', 'u.yml'],
    'no u-cmdline: the cmdline is empty',
  );
  assert.deepEqual(
    execFileSync('tar', ['-tf', 'u-initrd.tar'], { cwd: dir, env }).toString(),
    'kernel\ninitrd.img\nucode.cpio\n',
  );
  assert.equal(
    execFileSync('tar', ['-xOf', 'u-initrd.tar', 'ucode.cpio'], { cwd: dir, env }).toString(),
    'UCODE-CPIO-BYTES',
  );
});

void test('format: oci volumes hold a valid OCI layout of the listed platforms', async () => {
  const spec = await f.spec(
    'oci.yml',
    'volumes:\n  - name: img\n    image: HOST/test/multi:1\n    format: oci\n    platforms: [linux/amd64, linux/arm64]\n  - name: one\n    image: HOST/test/multi:1\n    format: oci\n',
  );
  const r = await f.cli(['--no-sbom', '-o', '-', spec]);
  assert.equal(r.code, 0, r.stderr);
  const dir = await outDir('oci-x');
  execFileSync('tar', ['-x', '-C', dir], { input: r.stdout, stdio: ['pipe', 'ignore', 'ignore'] });
  const { createHash } = await import('node:crypto');
  for (const [vol, archs] of [
    ['img', ['amd64', 'arm64']],
    ['one', ['amd64']],
  ] as const) {
    const lower = join(dir, 'containers/volumes', vol, 'lower');
    assert.equal(await readFile(join(lower, 'oci-layout'), 'utf8'), '{"imageLayoutVersion":"1.0.0"}');
    const blob = async (d: string): Promise<Buffer> => {
      const b = await readFile(join(lower, 'blobs/sha256', d.slice(7)));
      assert.equal(`sha256:${createHash('sha256').update(b).digest('hex')}`, d, 'blob content matches its name');
      return b;
    };
    const index = JSON.parse(await readFile(join(lower, 'index.json'), 'utf8')) as {
      manifests: Array<{ digest: string; platform: { architecture: string }; annotations: Record<string, string> }>;
    };
    assert.deepEqual(
      index.manifests.map((m) => [m.platform.architecture, m.annotations['org.opencontainers.image.ref.name']]),
      archs.map((a) => [a, `${f.host}/test/multi:1`]),
    );
    for (const m of index.manifests) {
      const manifest = JSON.parse((await blob(m.digest)).toString()) as {
        config: { digest: string };
        layers: Array<{ digest: string }>;
      };
      for (const d of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) await blob(d);
    }
    assert.deepEqual((await readdir(join(dir, 'containers/volumes', vol))).sort(), ['lower', 'merged', 'tmp']);
  }
});

void test('--decompress-kernel stores a gzip kernel uncompressed; a kernel it cannot decompress fails the build cleanly', async () => {
  const dir = await outDir('decompress');
  const spec = await f.spec('decompress/gz.yml', 'kernel:\n  image: HOST/test/kernel-gz:1\n  tar: none\n');
  const r = await f.cli(['--decompress-kernel', '--no-sbom', '-d', dir, spec]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await readFile(join(dir, 'gz-kernel'), 'utf8'), 'UNCOMPRESSED-VMLINUX');
  const plain = await f.spec('decompress/plain.yml', 'kernel:\n  image: HOST/test/kernel:1\n');
  const bad = await f.cli(['--decompress-kernel', '-d', dir, plain]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^Error: .*neither gzip-compressed nor an x86 bzImage/m);
  assert.deepEqual((await readdir(dir)).sort(), ['gz-initrd.img', 'gz-kernel', 'gz.yml', 'plain.yml']);
});

void test('output paths that cannot be written are reported as such (exit 1), not as a crash', async () => {
  const missingDir = join(f.dir, 'no-such-dir', 'x.tar');
  const r = await f.cli(['-o', missingDir, '--no-sbom', osSpec]);
  assert.deepEqual(
    [r.code, r.stderr.split('\n').find((l) => l.startsWith('Error'))],
    [1, `Error: Cannot write "${missingDir}": ENOENT: no such file or directory`],
  );
  const file = join(f.dir, 'data.txt');
  const d = await f.cli(['-f', 'tar', '-d', file, '--no-sbom', osSpec]);
  assert.deepEqual(
    [d.code, d.stderr.split('\n').find((l) => l.startsWith('Error'))],
    [1, `Error: Cannot create the output directory "${file}": EEXIST: file already exists`],
  );
});

void test('the SBOM merges the SPDX attestations of the images, file names under the container directory', async () => {
  const spec = await f.spec('att.yml', 'services:\n  - name: att\n    image: HOST/test/attested:1\n');
  const r = await f.cli(['-o', '-', spec]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(
    execFileSync('tar', ['-xOf', '-', 'sbom.spdx.json'], {
      input: r.stdout,
      stdio: ['pipe', 'pipe', 'ignore'],
    }).toString(),
  ) as {
    packages: Array<{ SPDXID: string; name: string }>;
    files: Array<{ SPDXID: string; fileName: string }>;
  };
  assert.deepEqual(
    doc.packages.map((p) => [p.SPDXID, p.name.replace(f.host, 'HOST')]),
    [
      ['SPDXRef-Package-image-0', 'HOST/test/attested:1'],
      ['SPDXRef-D0-Package-musl', 'musl'],
    ],
  );
  assert.deepEqual(doc.files, [
    { SPDXID: 'SPDXRef-D0-File-ld', fileName: '/containers/services/att/lower/lib/ld-musl.so.1' },
  ]);
});

void test('--arch picks the platform; outputs: in the spec is used without -f; --sbom-current-time stamps now', async () => {
  const dir = await outDir('arch');
  const spec = await f.spec('arch/a.yml', 'init:\n  - HOST/test/multi:1\noutputs:\n  - format: tar\n');
  const before = Math.floor(Date.now() / 1000);
  const r = await f.cli(['--arch', 'arm64', '--sbom-current-time', '-d', dir, spec]);
  assert.equal(r.code, 0, r.stderr);
  const all = await entries(join(dir, 'a.tar'));
  assert.deepEqual([all.has('hello-arm64'), all.has('hello-amd64')], [true, false]);
  const created =
    Date.parse(
      (JSON.parse(all.get('sbom.spdx.json')?.data ?? '{}') as { creationInfo: { created: string } }).creationInfo
        .created,
    ) / 1000;
  assert.ok(created >= before && created <= Math.ceil(Date.now() / 1000) + 1, `created ${created} is now`);
});
