/**
 * A real distribution image for tests: a Debian bookworm root filesystem made without Docker by `mmdebstrap`
 * (`--variant=minbase` plus nginx-light, iputils-ping, busybox and runc: usrmerged `/lib → usr/lib`, setuid
 * binaries, hardlinks, `cap_net_raw` on `usr/bin/ping`), built once per machine from the Debian mirror and
 * cached as a tar under ~/.cache/mobyts-test (testCacheRoot), then wrapped as a one-layer OCI image.
 * busybox and runc let the same image be a system's userland as an init image (beside `initOnlyImage`).
 *
 *   const d = debianRootfs();                 // { tar } or { skip: reason } (no mmdebstrap, no mirror)
 *   const image = debianImage(d.tar);         // BuiltImage for pushImage
 *   const init = initOnlyImage();             // examples/packages/init's /init alone, for a Debian userland
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { REPO, testCacheRoot } from './kernel.ts';
import type { BuiltImage } from './images.ts';
import { imageOfLayers, tarOfRaw, type RawEntry } from './layer-stacks.ts';

export const DEBIAN_PACKAGES = ['nginx-light', 'iputils-ping', 'busybox', 'runc'];
const MIRROR = 'http://deb.debian.org/debian';

/** The cached rootfs tar, made on first use (≈3 min); a skip reason when it cannot be made here. */
export function debianRootfs(): { tar: string } | { skip: string } {
  const dir = join(testCacheRoot(), 'debian-bookworm');
  const tar = join(dir, `minbase-${DEBIAN_PACKAGES.join('-')}.tar`);
  if (existsSync(tar)) return { tar };
  try {
    execFileSync('mmdebstrap', ['--version'], { stdio: 'ignore' });
  } catch {
    return { skip: 'mmdebstrap is not installed (scripts/setup)' };
  }
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.tmp-${process.pid}.tar`);
  try {
    execFileSync(
      'mmdebstrap',
      [
        '--quiet',
        '--format=tar',
        '--variant=minbase',
        `--include=${DEBIAN_PACKAGES.join(',')}`,
        'bookworm',
        tmp,
        MIRROR,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 900_000 },
    );
  } catch (err) {
    rmSync(tmp, { force: true });
    return {
      skip: `mmdebstrap could not build the Debian rootfs: ${String((err as { stderr?: Buffer }).stderr ?? err).slice(-500)}`,
    };
  }
  renameSync(tmp, tar);
  return { tar };
}

/** The rootfs tar as a one-layer OCI image (gzip level 1: the test's time goes into the build, not here). */
export function debianImage(tar: string): BuiltImage {
  const raw = readFileSync(tar);
  return imageOfLayers([{ tar: raw, gz: gzipSync(raw, { level: 1 }) }]);
}

/**
 * The example init's script without its userland: `/init` and `usr/lib/mobyts/runtime.awk` from
 * examples/packages/init/contents, plus `usr/sbin/modprobe` and `usr/sbin/poweroff` as links to
 * `/bin/busybox` (the two commands /init needs that Debian's busybox package installs no link for and
 * minbase lacks). Nothing at `/bin` or `/lib`: beside the Debian image (`debianImage`, which brings busybox,
 * runc and the C library through its `/bin → usr/bin`, `/lib → usr/lib`) it is a whole init. The example
 * init package itself has real `/bin` and `/lib` directories and cannot sit beside a usrmerged image
 * (docs/compat.md).
 */
export function initOnlyImage(): BuiltImage {
  const contents = join(REPO, 'examples/packages/init/contents');
  const at = { uid: 0, gid: 0, mtime: 1492533000, enc: 'pax' as const };
  const dir = (name: string): RawEntry => ({ name, type: 'dir', mode: 0o755, ...at });
  const file = (name: string, mode: number): RawEntry => ({
    name,
    type: 'file',
    mode,
    data: readFileSync(join(contents, name)),
    ...at,
  });
  const busybox = (name: string): RawEntry => ({ name, type: 'symlink', mode: 0o777, linkname: '/bin/busybox', ...at });
  const tar = tarOfRaw([
    file('init', 0o755),
    dir('usr'),
    dir('usr/lib'),
    dir('usr/lib/mobyts'),
    file('usr/lib/mobyts/runtime.awk', 0o644),
    dir('usr/sbin'),
    busybox('usr/sbin/modprobe'),
    busybox('usr/sbin/poweroff'),
  ]);
  return imageOfLayers([{ tar, gz: gzipSync(tar) }]);
}
