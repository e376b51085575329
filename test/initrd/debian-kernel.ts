/**
 * A real Debian 6.1 amd64 kernel (bzImage, xz payload) for tests, downloaded once with `apt-get download`
 * into a cache shared by test runs (`<tmpdir>/mobyts-test-kernel`). Returns a skip reason when apt cannot
 * fetch it (offline machine).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const KERNEL_CACHE = join(tmpdir(), 'mobyts-test-kernel');

function cached(): string | undefined {
  if (!existsSync(KERNEL_CACHE)) return undefined;
  const f = readdirSync(KERNEL_CACHE).find((n) => n.startsWith('vmlinuz-'));
  return f === undefined ? undefined : join(KERNEL_CACHE, f);
}

export function debianKernel(): { path: string } | { skip: string } {
  const hit = cached();
  if (hit !== undefined) return { path: hit };
  mkdirSync(KERNEL_CACHE, { recursive: true });
  const work = mkdtempSync(join(KERNEL_CACHE, 'dl-'));
  try {
    const deps = execFileSync('apt-cache', ['depends', 'linux-image-amd64'], { encoding: 'utf8' });
    const pkg = /Depends: (linux-image-6\.1\.0-\S+-amd64)/.exec(deps)?.[1];
    if (pkg === undefined) return { skip: 'apt-cache knows no linux-image-6.1.0-*-amd64 package' };
    execFileSync('apt-get', ['download', pkg], { cwd: work, stdio: 'ignore' });
    const deb = readdirSync(work).find((n) => n.endsWith('.deb'));
    if (deb === undefined) return { skip: `apt-get download ${pkg} produced no .deb` };
    execFileSync('sh', ['-c', `dpkg-deb --fsys-tarfile "${deb}" | tar -x --wildcards './boot/vmlinuz-*'`], { cwd: work });
    const name = readdirSync(join(work, 'boot'))[0];
    if (name === undefined) return { skip: 'the kernel package holds no boot/vmlinuz-*' };
    renameSync(join(work, 'boot', name), join(KERNEL_CACHE, name));
    return { path: join(KERNEL_CACHE, name) };
  } catch (err) {
    return { skip: `cannot download a Debian kernel with apt: ${(err as Error).message.split('\n')[0] ?? ''}` };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
