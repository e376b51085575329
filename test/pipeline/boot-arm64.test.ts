/**
 * arm64 end to end on an amd64 host, no emulation while building: the offline packages built for
 * linux/amd64 + linux/arm64 into one multi-platform index each (arm64 from Debian's arm64 .debs), then
 * `mobyts build --arch arm64` of examples/hello.yml and `mobyts run qemu --arch arm64` (the real CLI) booting
 * kernel+initrd, uki, raw-efi and iso-efi with qemu-system-aarch64 under TCG (the EFI ones with AAVMF):
 * onboot, the getty service and onshutdown at poweroff. kernel+squashfs, kernel+erofs and kernel+iso (Debian's
 * kernel has their drivers as modules) share one arm64 loader initrd; squashfs and iso boot through it (an erofs
 * boot would be one more slow TCG boot of the same loader: its image is checked for arm64 content instead).
 * A second build of every format under another TZ/umask is byte-identical.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { buffer } from 'node:stream/consumers';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { packageInfo } from '../../src/pkg/tag.ts';
import { parseReference } from '../../src/oci/reference.ts';
import type { ImageStore } from '../../src/store/index.ts';
import { assertCleanBoot } from '../e2e/console-checks.ts';
import { REPO } from '../helpers/kernel.ts';
import { buildExamplePackages, EXAMPLE_PACKAGES } from '../helpers/packages.ts';
import { runCli } from './fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'mobyts-arm64-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let store: ImageStore;

before(async () => {
  store = await buildExamplePackages(join(dir, 'cache'), ['amd64', 'arm64']);
});

void test('every example package is one OCI index listing linux/amd64 and linux/arm64 (arm64 binaries inside)', async () => {
  for (const p of EXAMPLE_PACKAGES) {
    const root = await store.getRef(parseReference((await packageInfo(p)).ref).expanded);
    assert.ok(root !== undefined, p);
    const index = JSON.parse((await buffer(await store.openBlob(root.digest, root.size))).toString()) as {
      mediaType: string;
      manifests: Array<{ platform: unknown }>;
    };
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(
      index.manifests.map((m) => m.platform),
      [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ],
    );
  }
});

const FORMATS = 'kernel+initrd,uki,raw-efi,iso-efi,iso-efi-initrd,qcow2-efi,tar,tar-kernel-initrd,docker';
const out = join(dir, 'out');

async function buildArm64(into: string, env: { TZ?: string; umask?: string } = {}): Promise<void> {
  const b = await runCli(
    ['build', '--cache', store.dir, '--arch', 'arm64', '-f', FORMATS, '-d', into, join(REPO, 'examples/hello.yml')],
    { home: dir, cwd: dir, ...env },
  );
  assert.equal(b.code, 0, b.stderr);
}

/** Boots `format` of the build with the real `mobyts run qemu --arch arm64` and judges the console. */
async function bootArm64(format: string, from = out): Promise<void> {
  const started = performance.now();
  const r = await runCli(
    [
      'run',
      'qemu',
      join(from, 'hello'),
      '--format',
      format,
      '--arch',
      'arm64',
      '--timeout',
      '900',
      '--until',
      'mobyts-init: poweroff',
      '--fail',
      'Kernel panic',
      '--fail',
      'mobyts-init: switch_root failed',
      '--fail',
      'exit 125 (runtime.json failed)',
      '--fail',
      'mobyts-loader:',
    ],
    { home: dir, cwd: dir },
  );
  const console = r.stdout.toString('latin1');
  assert.equal(r.code, 0, `${r.stderr}\n${console.slice(-3000)}`);
  assertCleanBoot(console, {
    onboot: ['000-hello', '001-uname'],
    services: ['getty'],
    onshutdown: ['000-goodbye'],
    output: ['HELLO-FROM-MOBYTS', 'Linux 6.', 'GOODBYE-FROM-MOBYTS'],
  });
  assert.match(console, /Linux [0-9.]+-[0-9]+-arm64/);
  process.stderr.write(`# arm64 ${format} boot to poweroff: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

void test('mobyts build --arch arm64 writes every arm64 format; the kernel is an arm64 Image, the EFI loaders BOOTAA64.EFI', async () => {
  await buildArm64(out);
  assert.deepEqual(readdirSync(out).sort(), [
    'hello-cmdline',
    'hello-efi-initrd.iso',
    'hello-efi.img',
    'hello-efi.iso',
    'hello-efi.qcow2',
    'hello-initrd.img',
    'hello-initrd.tar',
    'hello-kernel',
    'hello.docker',
    'hello.efi',
    'hello.tar',
  ]);
  // An arm64 Image: "ARM\x64" at offset 56 (the kernel's boot protocol header).
  assert.equal(readFileSync(join(out, 'hello-kernel')).subarray(56, 60).toString('latin1'), 'ARM\x64');
  // The UKI is an arm64 PE (machine 0xaa64) built on Debian's arm64 systemd-stub.
  const uki = readFileSync(join(out, 'hello.efi'));
  assert.equal(uki.readUInt16LE(uki.readUInt32LE(0x3c) + 4), 0xaa64);
  assert.match(readFileSync(join(out, 'hello-efi.img')).toString('latin1'), /BOOTAA64EFI/);
});

for (const format of ['kernel+initrd', 'uki', 'raw-efi', 'iso-efi']) {
  void test(`arm64 ${format} boots under qemu-system-aarch64 (TCG${format === 'kernel+initrd' ? '' : ', AAVMF'}): onboot, getty, onshutdown`, () =>
    bootArm64(format));
}

const rootOut = join(dir, 'root-images');

async function buildRootImages(into: string, env: { TZ?: string; umask?: string } = {}): Promise<void> {
  const b = await runCli(
    [
      'build',
      '--cache',
      store.dir,
      '--arch',
      'arm64',
      '-f',
      'kernel+squashfs,kernel+erofs,kernel+iso',
      '-d',
      into,
      join(REPO, 'examples/hello.yml'),
    ],
    { home: dir, cwd: dir, ...env },
  );
  assert.equal(b.code, 0, b.stderr);
}

/** examples/hello.yml's cmdline, names both serial consoles; used as written on every arch (docs/formats.md). */
const HELLO_CMDLINE = 'console=ttyS0 console=ttyAMA0 quiet panic=-1 mobyts.poweroff=1';

/** e_machine of an ELF file: 183 is aarch64. */
const elfMachine = (file: string): number => readFileSync(file).readUInt16LE(18);

void test('arm64 kernel+squashfs, kernel+erofs and kernel+iso: one loader initrd with an arm64 busybox and virtio_scsi for the CD', async () => {
  await buildRootImages(rootOut);
  assert.deepEqual(readdirSync(rootOut).sort(), [
    'hello-cmdline',
    'hello-erofs.img',
    'hello-initrd.img',
    'hello-kernel',
    'hello-squashfs.img',
    'hello.iso',
  ]);
  const loader = join(rootOut, 'hello-initrd.img');
  const names = execFileSync('sh', ['-c', 'zcat "$1" | cpio -t --quiet', 'sh', loader], { encoding: 'utf8' }).split(
    '\n',
  );
  for (const m of ['virtio_scsi.ko', 'virtio_blk.ko', 'squashfs.ko', 'erofs.ko', 'isofs.ko', 'sr_mod.ko'])
    assert.ok(
      names.some((n) => n.endsWith(`/${m}`)),
      m,
    );
  assert.ok(!names.some((n) => n.endsWith('/ata_piix.ko')), 'no PC IDE driver in an arm64 loader');
  const busybox = execFileSync('sh', ['-c', 'zcat "$1" | cpio -i --quiet --to-stdout bin/busybox', 'sh', loader], {
    maxBuffer: 16 << 20,
  });
  assert.equal(busybox.readUInt16LE(18), 183, "the loader's busybox is an aarch64 ELF");
  // The erofs image holds the arm64 root filesystem; the kernel beside it is the arm64 Image, its cmdline the spec's.
  const root = join(dir, 'erofs-root');
  execFileSync('fsck.erofs', [`--extract=${root}`, '--no-preserve', join(rootOut, 'hello-erofs.img')]);
  assert.ok(lstatSync(join(root, 'bin/busybox')).isFile());
  assert.equal(elfMachine(join(root, 'bin/busybox')), 183, "the erofs image's busybox is an aarch64 ELF");
  assert.ok(!existsSync(join(root, 'boot')), 'no boot/ in the erofs image');
  rmSync(root, { recursive: true, force: true });
  assert.equal(readFileSync(join(rootOut, 'hello-kernel')).subarray(56, 60).toString('latin1'), 'ARM\x64');
  assert.equal(readFileSync(join(rootOut, 'hello-cmdline'), 'utf8'), HELLO_CMDLINE);
});

void test('a second arm64 build under another TZ and umask is byte-identical in every format', async () => {
  const again = join(dir, 'again');
  await buildArm64(again, { TZ: 'Asia/Tokyo', umask: '077' });
  for (const f of readdirSync(out)) assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(again, f))), f);
  const rootAgain = join(dir, 'root-again');
  await buildRootImages(rootAgain, { TZ: 'Asia/Tokyo', umask: '077' });
  assert.deepEqual(readdirSync(rootAgain).sort(), readdirSync(rootOut).sort());
  for (const f of readdirSync(rootOut))
    assert.ok(readFileSync(join(rootOut, f)).equals(readFileSync(join(rootAgain, f))), f);
  rmSync(again, { recursive: true, force: true });
  rmSync(rootAgain, { recursive: true, force: true });
});

for (const format of ['kernel+squashfs', 'kernel+iso']) {
  void test(`arm64 ${format} boots under qemu-system-aarch64 (TCG, loader initrd, root on ${format === 'kernel+iso' ? 'a virtio-scsi CD' : 'virtio'}): onboot, getty, onshutdown`, () =>
    bootArm64(format, rootOut));
}
