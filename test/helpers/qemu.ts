/** Small builders for boot tests: a newc initrd from a directory (GNU cpio, reproducible) and a busybox root. */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes `dir` as an uncompressed newc cpio (sorted, uid/gid 0) to `out`. */
export function makeInitrd(dir: string, out: string): void {
  execFileSync('sh', [
    '-c',
    'cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible > "$2"',
    'sh',
    dir,
    out,
  ]);
}

/** A root with only a static busybox and `/init` = `script` (busybox sh; devtmpfs already mounted on stdio). */
export function tinyRoot(dir: string, script: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'dev'));
  copyFileSync('/bin/busybox', join(dir, 'bin/busybox'));
  const init = join(dir, 'init');
  writeFileSync(
    init,
    `#!/bin/busybox sh\n/bin/busybox mount -t devtmpfs devtmpfs /dev\nexec </dev/console >/dev/console 2>&1\n/bin/busybox --install -s /bin\nmount -t proc proc /proc 2>/dev/null || { mkdir /proc; mount -t proc proc /proc; }\n${script}\n`,
  );
  chmodSync(init, 0o755);
}
