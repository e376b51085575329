/**
 * The one Debian kernel for tests (boot, formats, initrd), obtained once per machine through the kernel
 * package's own prepare step (examples/packages/kernel/prepare.sh: apt-get download + dpkg-deb; the .deb is
 * cached in ~/.cache/mobyts/kernel, shared with `mobyts build` of that package), staged under
 * ~/.cache/mobyts-test/kernel-<package> with its config and the PVH `vmlinux` extracted from the bzImage
 * (docs/boot.md#direct-boot), which boots ~3 s faster under TCG. `testKernelOrSkip` turns "apt cannot fetch it"
 * into a skip reason for tests that must pass offline.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '../..');
export const KERNEL_PACKAGE = join(REPO, 'examples/packages/kernel');

export interface TestKernel {
  /** bzImage (the package's /kernel). */
  bzImage: string;
  /** The package's /kernel.tar (modules + boot/config-*). */
  modulesTar: string;
  /** Uncompressed PVH ELF for `-kernel` (fast direct boots). */
  vmlinux: string;
  /** The kernel's build config (boot/config-* of the package). */
  config: string;
}

/** Root of the test caches (`$MOBYTS_TEST_CACHE`, else ~/.cache/mobyts-test); other fixtures cache beside the kernel. */
export function testCacheRoot(): string {
  return process.env.MOBYTS_TEST_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'mobyts-test');
}

function kernelPackageName(): string {
  const out = execFileSync(
    'sh',
    ['-c', "apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}'"],
    { encoding: 'utf8' },
  );
  const name = out.trim();
  if (name === '')
    throw new Error('apt-cache knows no linux-image-amd64 (not Debian/Ubuntu, or apt-get update needed)');
  return name;
}

/** bzImage's payload is xz; the decompressed ELF has a PVH note (CONFIG_PVH=y). */
function extractVmlinux(bzImage: string, out: string): void {
  const data = readFileSync(bzImage);
  const off = data.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  if (off < 0) throw new Error(`${bzImage}: no xz payload found`);
  // xz stops after the first stream and closes its stdin early, so feed it from a file via the shell.
  execFileSync('sh', [
    '-c',
    'tail -c +$(($2 + 1)) "$1" | xz -dc --single-stream > "$3"',
    'sh',
    bzImage,
    String(off),
    `${out}.${process.pid}`,
  ]);
  renameSync(`${out}.${process.pid}`, out);
}

/** The cached test kernel; downloads and extracts on first use (≈15 s), then returns at once. */
export function testKernel(): TestKernel {
  const dir = join(testCacheRoot(), `kernel-${kernelPackageName()}`);
  const bzImage = join(dir, 'kernel');
  const modulesTar = join(dir, 'kernel.tar');
  const vmlinux = join(dir, 'vmlinux');
  if (!existsSync(modulesTar)) {
    // Parallel test files may race here: each stages privately and the first rename wins.
    const staging = `${dir}.tmp-${process.pid}`;
    mkdirSync(staging, { recursive: true });
    execFileSync('sh', [join(KERNEL_PACKAGE, 'prepare.sh')], {
      env: { ...process.env, STAGE: staging, PKG_DIR: KERNEL_PACKAGE },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    try {
      renameSync(staging, dir);
    } catch {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  if (!existsSync(vmlinux)) extractVmlinux(bzImage, vmlinux);
  const config = join(dir, 'config');
  if (!existsSync(config)) {
    execFileSync('sh', [
      '-c',
      'tar -xOf "$1" --wildcards "boot/config-*" > "$2"',
      'sh',
      modulesTar,
      `${config}.${process.pid}`,
    ]);
    renameSync(`${config}.${process.pid}`, config);
  }
  return { bzImage, modulesTar, vmlinux, config };
}

/** testKernel(), or the reason it cannot be had (no apt, no network) for `t.skip`. */
export function testKernelOrSkip(): TestKernel | { skip: string } {
  try {
    return testKernel();
  } catch (err) {
    return { skip: `cannot get the Debian kernel with apt: ${(err as Error).message.split('\n')[0] ?? ''}` };
  }
}

/** The kernel package's .deb in prepare.sh's cache (downloaded there if that cache was cleaned), for tests needing other files of it. */
export function testKernelDeb(): string {
  testKernel();
  const pkg = kernelPackageName();
  const cache = join(
    process.env.MOBYTS_CACHE_HOME ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'mobyts'),
    'kernel',
  );
  const find = (): string | undefined => readdirSync(cache).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  mkdirSync(cache, { recursive: true });
  if (find() === undefined)
    execFileSync('apt-get', ['download', pkg], { cwd: cache, stdio: ['ignore', 'ignore', 'inherit'] });
  const deb = find();
  if (deb === undefined) throw new Error(`apt-get download ${pkg} left no .deb in ${cache}`);
  return join(cache, deb);
}
