/**
 * Issue 6 end to end through the real CLI: examples/hello.yml, its packages built into a fresh cache, built by
 * `node bin/mobyts.js build -f …` (a child process) into every bootable format, and each output booted under
 * QEMU TCG — SeaBIOS for BIOS formats, OVMF for EFI ones, converted disks through qemu's own drivers. A boot
 * passes when every onboot container ran and exited 0, the getty service started and the onshutdown job ran
 * (GOODBYE-FROM-MOBYTS) before poweroff. A second CLI build (other TZ, umask, TMPDIR) must give the same bytes.
 *
 * kernel+squashfs, kernel+erofs, kernel+iso: the Debian kernel has those filesystems and the virtio/CD drivers
 * only as modules, so the build writes the loader initrd beside them (docs/formats.md); they are built in their
 * own directory (the loader's hello-initrd.img is kernel+initrd's name too) and booted by `mobyts run qemu`
 * itself, which attaches the image as virtio disk or CD. A kernel whose modules lack one is refused before any
 * output. Boots are sequential (one file, 2 shared cores).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { bootImage, type BootOptions } from '../../src/run/qemu.ts';
import { assertCleanBoot } from '../e2e/console-checks.ts';
import { buildExamplePackages } from '../helpers/packages.ts';
import { testKernel } from '../helpers/kernel.ts';
import { moduleIndexOf } from '../../src/kernel-check/modules.ts';
import { readTarFile } from '../../src/tar/io.ts';

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
const ROOT_IMAGES = ['kernel+squashfs', 'kernel+erofs', 'kernel+iso'];
const GROUPS: Record<string, string[]> = {
  main: Object.keys(BOOTS).filter((f) => f !== 'dynamic-vhd'),
  'dynamic-vhd': ['dynamic-vhd'],
  'root-images': ROOT_IMAGES,
};
const FAIL = ['Kernel panic', 'mobyts-init: switch_root failed', 'exit 125 (runtime.json failed)'];

interface Run {
  code: number | null;
  stderr: string;
  seconds: number;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}, umask?: number): Promise<Run> {
  const started = Date.now();
  const argv = [join(REPO, 'bin/mobyts.js'), ...args];
  // umask is per process: a shell sets it before exec'ing node.
  const [cmd, cmdArgs] =
    umask === undefined
      ? [process.execPath, argv]
      : ['/bin/sh', ['-c', `umask ${umask.toString(8)} && exec "$0" "$@"`, process.execPath, ...argv]];
  return new Promise((res, rej) => {
    const child = spawn(cmd, cmdArgs, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', rej);
    child.on('close', (code) => res({ code, stderr, seconds: (Date.now() - started) / 1000 }));
  });
}

function sha256(path: string): Promise<string> {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('error', rej)
      .on('end', () => res(h.digest('hex')));
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
    builds[`${root}:${group}`] = await cli(
      ['build', '--cache', cache, '-d', join(root, group), '-f', formats.join(','), SPEC],
      env,
      umask,
    );
  }
}

function outDir(root: string, format: string): string {
  return join(root, format === 'dynamic-vhd' ? 'dynamic-vhd' : 'main');
}

before(async () => {
  await buildExamplePackages(cache);
  await buildAll(first);
});

void test('mobyts build writes every bootable format (three CLI calls)', (t) => {
  for (const group of Object.keys(GROUPS)) {
    const b = builds[`${first}:${group}`]!;
    assert.equal(b.code, 0, b.stderr);
    t.diagnostic(`build ${group}: ${b.seconds.toFixed(1)} s`);
  }
  assert.deepEqual(readdirSync(join(first, 'main')).sort(), [
    'hello-bios.img',
    'hello-cmdline',
    'hello-efi-initrd.iso',
    'hello-efi.img',
    'hello-efi.iso',
    'hello-efi.qcow2',
    'hello-initrd.img',
    'hello-kernel',
    'hello.efi',
    'hello.img.tar.gz',
    'hello.iso',
    'hello.qcow2',
    'hello.raw',
    'hello.vhd',
    'hello.vmdk',
  ]);
  assert.deepEqual(readdirSync(join(first, 'dynamic-vhd')), ['hello.vhd']);
  assert.deepEqual(readdirSync(join(first, 'root-images')).sort(), [
    'hello-cmdline',
    'hello-erofs.img',
    'hello-initrd.img',
    'hello-kernel',
    'hello-squashfs.img',
    'hello.iso',
  ]);
  assert.match(
    builds[`${first}:root-images`]!.stderr,
    /Create outputs:\n {2}hello-kernel hello-squashfs\.img hello-cmdline hello-initrd\.img hello-erofs\.img hello\.iso\n/,
  );
});

/** `mobyts run qemu` as a child process: its console (stdout), stderr and exit code. */
function runQemuCli(args: string[]): Promise<Run & { stdout: string }> {
  const started = Date.now();
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/mobyts.js'), 'run', 'qemu', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('latin1').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', rej);
    child.on('close', (code) => res({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 }));
  });
}

for (const format of ROOT_IMAGES) {
  void test(`${format} boots with \`mobyts run qemu\` (TCG, loader initrd): onboot exits 0, getty starts, onshutdown runs`, async (t) => {
    const prefix = join(first, 'root-images', 'hello');
    const r = await runQemuCli([
      '--format',
      format,
      '--mem',
      '512',
      '--until',
      'mobyts-init: poweroff',
      ...FAIL.flatMap((f) => ['--fail', f]),
      '--fail',
      'mobyts-loader:',
      '--timeout',
      '300',
      prefix,
    ]);
    t.diagnostic(`${format}: run qemu ${r.seconds.toFixed(1)} s`);
    assert.equal(r.code, 0, `${r.stderr}\n${r.stdout.slice(-3000)}`);
    assert.match(r.stderr, new RegExp(`Booting \\S+hello \\(${format.replace('+', '\\+')}\\) with qemu`));
    assertCleanBoot(r.stdout, {
      onboot: ['000-hello', '001-uname'],
      services: ['getty'],
      onshutdown: ['000-goodbye'],
      output: ['HELLO-FROM-MOBYTS', 'Linux 6.', 'GOODBYE-FROM-MOBYTS'],
    });
  });
}

for (const [format, boot] of Object.entries(BOOTS)) {
  const firmware =
    boot.firmware === 'efi' || boot.kind === 'efi-kernel'
      ? 'OVMF'
      : boot.kind === 'kernel'
        ? 'qemu -kernel'
        : 'SeaBIOS';
  void test(`${format} boots under QEMU TCG (${firmware}): onboot exits 0, getty starts, onshutdown runs`, async (t) => {
    const out = outDir(first, format);
    if (format === 'gcp') {
      const tar = await new Promise<number | null>((res) =>
        spawn('tar', ['-xzf', join(out, 'hello.img.tar.gz'), '-C', out]).on('close', res),
      );
      assert.equal(tar, 0);
      t.after(() => rmSync(join(out, 'disk.raw'), { force: true }));
    }
    const rel = (p: string | undefined): string | undefined => (p === undefined ? undefined : join(out, p));
    const started = Date.now();
    const r = await bootImage({
      ...boot,
      image: rel(boot.image),
      kernel: rel(boot.kernel),
      initrd: rel(boot.initrd),
      until: ['mobyts-init: poweroff'],
      fail: FAIL,
      timeoutSeconds: 300,
    });
    t.diagnostic(
      `${format}: boot ${((Date.now() - started) / 1000).toFixed(1)} s, ${boot.image ?? boot.kernel} ${statSync(rel(boot.image ?? boot.kernel)!).size} bytes`,
    );
    assert.equal(r.ok, true, r.failure);
    assertCleanBoot(r.console, {
      onboot: ['000-hello', '001-uname'],
      services: ['getty'],
      onshutdown: ['000-goodbye'],
      output: ['HELLO-FROM-MOBYTS', 'Linux 6.', 'GOODBYE-FROM-MOBYTS'],
    });
  });
}

void test('a second build with another TZ, umask and TMPDIR writes byte-identical outputs', async () => {
  const second = join(dir, 'second');
  const tmp = join(dir, 'tmp2');
  mkdirSync(tmp);
  await buildAll(second, { TZ: 'Pacific/Kiritimati', TMPDIR: tmp }, 0o077);
  for (const group of Object.keys(GROUPS))
    assert.equal(builds[`${second}:${group}`]!.code, 0, builds[`${second}:${group}`]!.stderr);
  for (const group of Object.keys(GROUPS)) {
    const names = readdirSync(join(first, group))
      .filter((n) => n !== 'disk.raw')
      .sort();
    assert.deepEqual(readdirSync(join(second, group)).sort(), names);
    for (const n of names)
      assert.equal(await sha256(join(second, group, n)), await sha256(join(first, group, n)), `${group}/${n} differs`);
  }
  rmSync(second, { recursive: true, force: true });
});

void test('a kernel whose modules lack squashfs is refused for kernel+squashfs before any output, naming the option', async () => {
  const out = join(dir, 'refused');
  mkdirSync(out);
  const version = (await moduleIndexOf(readTarFile(testKernel().modulesTar)))!.version;
  // A second spec file replaces the kernel's modules.dep with one that lists only virtio_blk.
  const spec = join(dir, 'no-squashfs.yml');
  writeFileSync(
    spec,
    `files:\n  - path: lib/modules/${version}/modules.dep\n    contents: "kernel/drivers/block/virtio_blk.ko:\\n"\n`,
  );
  const r = await cli(['build', '--cache', cache, '-d', out, '-f', 'kernel+squashfs', SPEC, spec]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /Error: Cannot build kernel\+squashfs: the kernel's config lacks what it needs\n/);
  assert.match(
    r.stderr,
    new RegExp(
      `cannot boot format "kernel\\+squashfs": mounting the squashfs image as root needs CONFIG_VIRTIO_PCI=y \\(is m, and virtio_pci\\.ko is not in lib/modules/${version}\\), CONFIG_SQUASHFS=y \\(is m, and squashfs\\.ko is not in lib/modules/${version}\\)`,
    ),
  );
  assert.deepEqual(readdirSync(out), [], 'no output is written when the kernel check fails');
});
