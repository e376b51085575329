/**
 * Real inputs for the format tests: the Debian kernel (bzImage + its config, the shared test kernel of
 * test/helpers/kernel.ts), a busybox initrd whose /init prints a marker and powers off, and a filesystem tar
 * with the awkward entries (owners, setuid, device node, symlink, hardlink).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { entryStreamOf } from '../../src/tar/streams.ts';
import { writeTar } from '../../src/tar/write.ts';
import { testCacheRoot, testKernel, testKernelDeb } from '../helpers/kernel.ts';

export const SDE = 1492533000;
export const MARKER = 'MOBYTS-FORMAT-BOOT-OK';

export interface DebianKernel {
  bzImage: string;
  configText: string;
}

function sh(script: string, ...args: string[]): string {
  return execFileSync('sh', ['-c', script, 'sh', ...args], { encoding: 'utf8' });
}

/** The shared test kernel (test/helpers/kernel.ts) in the shape these tests use. */
export function debianKernel(): DebianKernel {
  const k = testKernel();
  return { bzImage: k.bzImage, configText: readFileSync(k.config, 'utf8') };
}

const INIT = `#!/bin/busybox sh
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox echo ${MARKER}
/bin/busybox poweroff -f
`;

/** A gzip newc initrd: static busybox + an /init that prints MARKER and powers off. Reproducible. */
export function makeInitrd(dir: string): string {
  const root = join(dir, 'initrd-root');
  for (const d of ['bin', 'dev', 'proc', 'sys']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  writeFileSync(join(root, 'init'), INIT);
  chmodSync(join(root, 'init'), 0o755);
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  sh('find "$1" -exec touch -h -d @"$2" {} +', root, String(SDE));
  const out = join(dir, 'initrd.img');
  sh(
    'cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible | gzip -9 -n > "$2"',
    root,
    out,
  );
  return out;
}

interface TarItem {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device';
  mode?: number;
  uid?: number;
  gid?: number;
  body?: Buffer;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

/** The filesystem tar (full, or without boot/*): kernel at boot/kernel plus entries that test metadata. */
export async function makeRootfsTar(
  path: string,
  o: { kernel: string; cmdline: string; withBoot: boolean },
): Promise<void> {
  const items: TarItem[] = [
    ...(o.withBoot
      ? [
          { name: 'boot', type: 'directory' as const, mode: 0o755 },
          { name: 'boot/kernel', mode: 0o644, body: await readFile(o.kernel) },
          { name: 'boot/cmdline', mode: 0o644, body: Buffer.from(o.cmdline) },
        ]
      : []),
    { name: 'bin', type: 'directory', mode: 0o755 },
    { name: 'bin/busybox', mode: 0o755, body: await readFile('/bin/busybox') },
    { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
    { name: 'bin/su', mode: 0o4755, body: Buffer.from('setuid\n') },
    { name: 'bin/su-hardlink', type: 'link', linkname: 'bin/su' },
    { name: 'dev', type: 'directory', mode: 0o755 },
    { name: 'dev/console', type: 'character-device', mode: 0o600, devmajor: 5, devminor: 1 },
    { name: 'home', type: 'directory', mode: 0o755 },
    { name: 'home/user', type: 'directory', mode: 0o700, uid: 1000, gid: 1000 },
    { name: 'home/user/notes.txt', mode: 0o640, uid: 1000, gid: 100, body: Buffer.from('owned by 1000\n') },
    { name: 'etc', type: 'directory', mode: 0o755 },
    { name: 'etc/hostname', mode: 0o644, body: Buffer.from('mobyts\n') },
    { name: 'etc/with space.conf', mode: 0o600, uid: 1000, gid: 1000, body: Buffer.from('x\n') },
  ];
  await writeTar(
    entryStreamOf(
      items.map((it) => {
        const body = it.body ?? Buffer.alloc(0);
        return {
          header: {
            name: it.name,
            type: it.type ?? 'file',
            mode: it.mode ?? 0o777,
            uid: it.uid ?? 0,
            gid: it.gid ?? 0,
            mtime: SDE,
            size: body.length,
            ...(it.linkname === undefined ? {} : { linkname: it.linkname }),
            ...(it.devmajor === undefined ? {} : { devmajor: it.devmajor, devminor: it.devminor ?? 0 }),
          },
          ...(body.length === 0 ? {} : { body: Readable.from([body]) }),
        };
      }),
    ),
    createWriteStream(path),
  );
}

export const ALL_FORMATS = [
  'iso-bios',
  'iso-efi',
  'iso-efi-initrd',
  'raw-bios',
  'raw-efi',
  'qcow2-bios',
  'qcow2-efi',
  'vhd',
  'dynamic-vhd',
  'vmdk',
  'gcp',
  'aws',
  'kernel+squashfs',
  'kernel+erofs',
  'kernel+iso',
  'uki',
] as const;

export const CMDLINE = 'console=ttyS0 quiet panic=-1';
export const SIZE = 64 * 1024 * 1024;

export interface Workspace {
  dir: string;
  kernel: string;
  kernelConfig: string;
  initrd: string;
  rootfs: string;
  rootfsNoBoot: string;
}

/** A temp dir readable by uid 65534 holding every input; the caller removes `dir`. */
export async function prepareWorkspace(prefix: string): Promise<Workspace> {
  const k = debianKernel();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  const kernel = join(dir, 'vmlinuz');
  copyFileSync(k.bzImage, kernel);
  chmodSync(kernel, 0o644);
  const initrd = makeInitrd(dir);
  const rootfs = join(dir, 'rootfs.tar');
  const rootfsNoBoot = join(dir, 'rootfs-noboot.tar');
  await makeRootfsTar(rootfs, { kernel, cmdline: CMDLINE, withBoot: true });
  await makeRootfsTar(rootfsNoBoot, { kernel, cmdline: CMDLINE, withBoot: false });
  return { dir, kernel, kernelConfig: k.configText, initrd, rootfs, rootfsNoBoot };
}

export interface ChildRun {
  status: number | null;
  stdout: string;
  stderr: string;
  outDir: string;
}

const NODE = process.execPath;
const CHILD = join(import.meta.dirname, 'build-formats-child.ts');

/**
 * Builds `formats` into `<ws.dir>/<label>/out/<format>/hello*` in a child process running as uid/gid 65534
 * (setpriv, when the tests run as root; otherwise as the unprivileged caller), with `path` as its PATH.
 */
export function buildAsNobody(
  ws: Workspace,
  label: string,
  formats: readonly string[],
  o: { path?: string; kernel?: string } = {},
): ChildRun {
  const base = join(ws.dir, label);
  const outDir = join(base, 'out');
  const workDir = join(base, 'work');
  for (const d of [base, outDir, workDir]) {
    mkdirSync(d, { recursive: true });
    chmodSync(d, 0o777);
  }
  const cfg = join(base, 'config.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      kernel: o.kernel ?? ws.kernel,
      initrd: ws.initrd,
      cmdline: CMDLINE,
      rootfs: ws.rootfs,
      rootfsNoBoot: ws.rootfsNoBoot,
      outDir,
      workDir,
      sizeBytes: SIZE,
      formats,
    }),
  );
  const env = { PATH: o.path ?? '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', HOME: base, LANG: 'C' };
  // As root, drop to nobody; an unprivileged test runner already is what the test needs.
  const [cmd, ...args] =
    process.getuid?.() === 0
      ? ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', NODE, CHILD, cfg]
      : [NODE, CHILD, cfg];
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, outDir };
}

/** Every file under `dir`, relative, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const p = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk('');
  return out.sort();
}

/** Modules (in load order) the Debian kernel needs to mount our rootfs images from a virtio disk. */
const MOUNT_MODULES = [
  'drivers/virtio/virtio_ring',
  'drivers/virtio/virtio',
  'drivers/virtio/virtio_pci_modern_dev',
  'drivers/virtio/virtio_pci_legacy_dev',
  'drivers/virtio/virtio_pci',
  'drivers/block/virtio_blk',
  'crypto/crc32c_generic',
  'lib/libcrc32c',
  'fs/squashfs/squashfs',
  'fs/erofs/erofs',
  'drivers/cdrom/cdrom',
  'fs/isofs/isofs',
];

export const MOUNT_MARKER = 'MOBYTS-ROOTFS-MOUNTED';

/**
 * A gzip initrd whose /init loads MOUNT_MODULES, mounts /dev/vda read-only with the type named by
 * `mobyts.fstype=` on the cmdline, and prints `MOUNT_MARKER <hostname> <uid:gid:mode of home/user/notes.txt>`.
 */
export function makeMountInitrd(dir: string): string {
  const cache = join(testCacheRoot(), 'formats-mount-modules');
  if (!existsSync(join(cache, 'isofs.ko'))) {
    const deb = testKernelDeb();
    const stage = `${cache}.${process.pid}`;
    mkdirSync(stage, { recursive: true });
    sh(
      `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards ${MOUNT_MODULES.map((m) => `'*/kernel/${m}.ko'`).join(' ')}`,
      deb,
      stage,
    );
    sh('find "$1" -name "*.ko" -exec mv {} "$1" \\;', stage);
    try {
      renameSync(stage, cache);
    } catch {
      rmSync(stage, { recursive: true, force: true });
    }
  }
  const root = join(dir, 'mount-initrd-root');
  for (const d of ['bin', 'dev', 'proc', 'mnt', 'modules']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  for (const m of MOUNT_MODULES)
    copyFileSync(join(cache, `${m.split('/').at(-1)}.ko`), join(root, 'modules', `${m.split('/').at(-1)}.ko`));
  const init = `#!/bin/busybox sh
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
B=/bin/busybox
for m in ${MOUNT_MODULES.map((m) => m.split('/').at(-1)).join(' ')}; do $B insmod /modules/$m.ko; done
$B mount -t proc proc /proc
fstype=$($B sed -n 's/.*mobyts.fstype=\\([a-z0-9]*\\).*/\\1/p' /proc/cmdline)
$B sleep 1
$B mount -t $fstype -o ro /dev/vda /mnt && echo ${MOUNT_MARKER} $($B cat /mnt/etc/hostname) $($B stat -c %u:%g:%a /mnt/home/user/notes.txt)
$B poweroff -f
`;
  writeFileSync(join(root, 'init'), init);
  chmodSync(join(root, 'init'), 0o755);
  sh('find "$1" -exec touch -h -d @"$2" {} +', root, String(SDE));
  const out = join(dir, 'mount-initrd.img');
  sh(
    'cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible | gzip -n > "$2"',
    root,
    out,
  );
  return out;
}
