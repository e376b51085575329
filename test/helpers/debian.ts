/**
 * A real distribution image for tests: a Debian bookworm root filesystem made without Docker by `mmdebstrap`
 * (`--variant=minbase` plus nginx-light, iputils-ping and busybox: usrmerged `/lib → usr/lib`, setuid
 * binaries, hardlinks, `cap_net_raw` on `usr/bin/ping`), built once per machine from the Debian mirror and
 * cached as a tar under ~/.cache/mobyts-test (testCacheRoot), then wrapped as a one-layer OCI image.
 *
 *   const d = debianRootfs();                 // { tar } or { skip: reason } (no mmdebstrap, no mirror)
 *   const image = debianImage(d.tar);         // BuiltImage for pushImage
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { testCacheRoot } from './kernel.ts';
import type { BuiltImage } from './images.ts';
import { imageOfLayers } from './layer-stacks.ts';

export const DEBIAN_PACKAGES = ['nginx-light', 'iputils-ping', 'busybox'];
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
