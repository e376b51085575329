/**
 * Issue 6 end to end through the real CLI: examples/hello.yml, its packages built into a fresh cache, built by
 * `node bin/mobyts.js build -f …` (a child process) into every bootable format, and each output booted under
 * QEMU TCG — SeaBIOS for BIOS formats, OVMF for EFI ones, converted disks through qemu's own drivers. A boot
 * passes when every onboot container ran and exited 0, the getty service started and the onshutdown job ran
 * (GOODBYE-FROM-MOBYTS) before poweroff. A second CLI build (other TZ, umask, TMPDIR) must give the same bytes.
 *
 * kernel+squashfs, kernel+erofs, kernel+iso are not booted here: the Debian kernel has those filesystems only as
 * modules, so it cannot mount them as root without an initrd, and `mobyts build` refuses them for this kernel
 * (asserted below, docs/formats.md explains). test/formats/rootfs-images.test.ts proves the real kernel mounts
 * the images those formats write and sees the tar's files, owners and modes.
 * Boots are sequential (one file, 2 shared cores).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { bootImage, type BootOptions } from '../../src/run/qemu.ts';
import { assertCleanBoot } from '../e2e/console-checks.ts';
import { buildExamplePackages } from '../helpers/packages.ts';

const REPO = resolve(import.meta.dirname, '../..');
const SPEC = join(REPO, 'examples/hello.yml');
const CMDLINE = 'console=ttyS0 quiet panic=-1 mobyts.poweroff=1';

/** Format → how to boot its output (paths relative to the output dir). */
const BOOTS: Record<string, Omit<BootOptions, 'until'>> = {
  'kernel+initrd': { kind: 'kernel', kernel: 'hello-kernel', initrd: 'hello-initrd.img', cmdline: CMDLINE },
  'iso-bios': { kind: 'cdrom', image: 'hello.iso' },
  'iso-efi': { kind: 'cdrom', firmware: 'efi', image: 'hello-efi.iso' },
  'iso-efi-initrd': { kind: 'cdrom', firmware: 'efi', image: 'hello-efi-initrd.iso' },
  'raw-bios': { kind: 'disk', image: 'hello-bios.img' },
  'raw-efi': { kind: 'disk', firmware: 'efi', image: 'hello-efi.img' },
  'qcow2-bios': { kind: 'disk', image: 'hello.qcow2', imageFormat: 'qcow2' },
  'qcow2-efi': { kind: 'disk', firmware: 'efi', image: 'hello-efi.qcow2', imageFormat: 'qcow2' },
  vhd: { kind: 'disk', image: 'hello.vhd', imageFormat: 'vpc' },
  vmdk: { kind: 'disk', image: 'hello.vmdk', imageFormat: 'vmdk' },
  gcp: { kind: 'disk', image: 'disk.raw' },
  aws: { kind: 'disk', image: 'hello.raw' },
  uki: { kind: 'efi-kernel', kernel: 'hello.efi' },
  'dynamic-vhd': { kind: 'disk', image: 'hello.vhd', imageFormat: 'vpc' },
};
/** One CLI call per group: vhd and dynamic-vhd both write hello.vhd, so dynamic-vhd gets its own directory. */
const GROUPS: Record<string, string[]> = {
  main: Object.keys(BOOTS).filter((f) => f !== 'dynamic-vhd'),
  'dynamic-vhd': ['dynamic-vhd'],
};
const FAIL = ['Kernel panic', 'mobyts-init: switch_root failed', 'exit 125 (runtime.json failed)'];

interface Run { code: number | null; stderr: string; seconds: number }

function cli(args: string[], env: NodeJS.ProcessEnv = {}, umask?: number): Promise<Run> {
  const started = Date.now();
  const argv = [join(REPO, 'bin/mobyts.js'), ...args];
  // umask is per process: a shell sets it before exec'ing node.
  const [cmd, cmdArgs] = umask === undefined
    ? [process.execPath, argv]
    : ['/bin/sh', ['-c', `umask ${umask.toString(8)} && exec "$0" "$@"`, process.execPath, ...argv]];
  return new Promise((res, rej) => {
    const child = spawn(cmd, cmdArgs, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', rej);
    child.on('close', (code) => res({ code, stderr, seconds: (Date.now() - started) / 1000 }));
  });
}

function sha256(path: string): Promise<string> {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (d) => h.update(d)).on('error', rej).on('end', () => res(h.digest('hex')));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'mobyts-build-formats-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const cache = join(dir, 'cache');
const first = join(dir, 'first');
const builds: Record<string, Run> = {};

async function buildAll(root: string, env: NodeJS.ProcessEnv = {}, umask?: number): Promise<void> {
  for (const [group, formats] of Object.entries(GROUPS)) {
    mkdirSync(join(root, group), { recursive: true });
    builds[`${root}:${group}`] = await cli(['build', '--cache', cache, '-d', join(root, group), '-f', formats.join(','), SPEC], env, umask);
  }
}

function outDir(root: string, format: string): string {
  return join(root, format === 'dynamic-vhd' ? 'dynamic-vhd' : 'main');
}

before(async () => {
  await buildExamplePackages(cache);
  await buildAll(first);
});

void test('mobyts build writes every bootable format (two CLI calls)', (t) => {
  for (const group of Object.keys(GROUPS)) {
    const b = builds[`${first}:${group}`]!;
    assert.equal(b.code, 0, b.stderr);
    t.diagnostic(`build ${group}: ${b.seconds.toFixed(1)} s`);
  }
  assert.deepEqual(readdirSync(join(first, 'main')).sort(), [
    'hello-bios.img', 'hello-cmdline', 'hello-efi-initrd.iso', 'hello-efi.img', 'hello-efi.iso', 'hello-efi.qcow2',
    'hello-initrd.img', 'hello-kernel', 'hello.efi', 'hello.img.tar.gz', 'hello.iso', 'hello.qcow2', 'hello.raw',
    'hello.vhd', 'hello.vmdk',
  ]);
  assert.deepEqual(readdirSync(join(first, 'dynamic-vhd')), ['hello.vhd']);
});

for (const [format, boot] of Object.entries(BOOTS)) {
  const firmware = boot.firmware === 'efi' || boot.kind === 'efi-kernel' ? 'OVMF' : boot.kind === 'kernel' ? 'qemu -kernel' : 'SeaBIOS';
  void test(`${format} boots under QEMU TCG (${firmware}): onboot exits 0, getty starts, onshutdown runs`, async (t) => {
    const out = outDir(first, format);
    if (format === 'gcp') {
      const tar = await new Promise<number | null>((res) => spawn('tar', ['-xzf', join(out, 'hello.img.tar.gz'), '-C', out]).on('close', res));
      assert.equal(tar, 0);
      t.after(() => rmSync(join(out, 'disk.raw'), { force: true }));
    }
    const rel = (p: string | undefined): string | undefined => (p === undefined ? undefined : join(out, p));
    const started = Date.now();
    const r = await bootImage({
      ...boot, image: rel(boot.image), kernel: rel(boot.kernel), initrd: rel(boot.initrd),
      until: ['mobyts-init: poweroff'], fail: FAIL, timeoutSeconds: 300,
    });
    t.diagnostic(`${format}: boot ${((Date.now() - started) / 1000).toFixed(1)} s, ${boot.image ?? boot.kernel} ${statSync(rel(boot.image ?? boot.kernel)!).size} bytes`);
    assert.equal(r.ok, true, r.failure);
    assertCleanBoot(r.console, {
      onboot: ['000-hello', '001-uname'], services: ['getty'], onshutdown: ['000-goodbye'],
      output: ['HELLO-FROM-MOBYTS', 'Linux 6.', 'GOODBYE-FROM-MOBYTS'],
    });
  });
}

void test('a second build with another TZ, umask and TMPDIR writes byte-identical outputs', async () => {
  const second = join(dir, 'second');
  const tmp = join(dir, 'tmp2');
  mkdirSync(tmp);
  await buildAll(second, { TZ: 'Pacific/Kiritimati', TMPDIR: tmp }, 0o077);
  for (const group of Object.keys(GROUPS)) assert.equal(builds[`${second}:${group}`]!.code, 0, builds[`${second}:${group}`]!.stderr);
  for (const group of Object.keys(GROUPS)) {
    const names = readdirSync(join(first, group)).filter((n) => n !== 'disk.raw').sort();
    assert.deepEqual(readdirSync(join(second, group)).sort(), names);
    for (const n of names) assert.equal(await sha256(join(second, group, n)), await sha256(join(first, group, n)), `${group}/${n} differs`);
  }
  rmSync(second, { recursive: true, force: true });
});

void test('kernel+squashfs, kernel+erofs, kernel+iso are refused for the Debian kernel, which needs an initrd to mount them', async () => {
  const out = join(dir, 'refused');
  mkdirSync(out);
  const r = await cli(['build', '--cache', cache, '-d', out, '-f', 'kernel+squashfs,kernel+erofs,kernel+iso', SPEC]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Error: Cannot build kernel\+squashfs, kernel\+erofs, kernel\+iso: the kernel's config lacks what it needs\n/);
  assert.match(r.stderr, /cannot boot format "kernel\+squashfs": mounting the squashfs image as root needs CONFIG_SQUASHFS=y \(is m\)/);
  assert.match(r.stderr, /cannot boot format "kernel\+erofs": mounting the erofs image as root needs CONFIG_EROFS_FS=y \(is m\)/);
  assert.match(r.stderr, /cannot boot format "kernel\+iso": mounting the data ISO as root needs CONFIG_ISO9660_FS=y \(is m\)/);
  assert.deepEqual(readdirSync(out), [], 'no output is written when the kernel check fails');
});
