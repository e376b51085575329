/**
 * The loader initrd of kernel+squashfs, kernel+erofs and kernel+iso for kernels that have the root's drivers
 * only as modules (docs/formats.md): a gzip newc cpio with a static busybox, the kernel's own modules that
 * reach the root (dependencies first, from the filesystem's `lib/modules/<version>/`, where the kernel image's
 * kernel.tar put them) and an `/init` that loads them, waits for the root device named by `root=` (else the
 * format's), mounts it read-only and `switch_root`s into the image's `/init`, whose command line is the
 * kernel's. Built from data only: no root, no mounts, reproducible.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { createWriteStream } from 'node:fs';
import { readTarFile } from '../tar/io.ts';
import { writeInitrd } from '../initrd/initrd.ts';
import type { Reporter } from '../util/reporter.ts';
import type { EntryStream, TarEntry, TarHeader } from '../tar/entry.ts';
import { TOOLS } from '../tools/catalog.ts';
import { runTool } from '../tools/run-tool.ts';
import { MobyError } from '../util/errors.ts';

export interface LoaderInput {
  /** The filesystem tar (without boot/*) the modules and busybox come from. */
  rootfsTar: string;
  /** Kernel release and module paths relative to `lib/modules/<version>/`, in load order. */
  version: string;
  modules: readonly string[];
  /** The root devices to wait for when the command line has no `root=` (`/dev/vda`, `/dev/sr0`): the first that appears. */
  devices: readonly string[];
  /** The `--arch` the loader runs on: its busybox must be an ELF for that machine. */
  arch: string;
  mtime: number;
  /** Where the initrd writer's warnings go. */
  reporter: Reporter;
  out: string;
  workDir: string;
  signal: AbortSignal;
}

/** The busybox the loader runs when the filesystem has no static one: Debian's busybox-static. */
export const HOST_BUSYBOX = '/bin/busybox';

/**
 * The loader's /init: a busybox sh script; every applet through /bin/busybox (no links in the cpio). The root
 * is `root=` or the first of `devices` to appear (30 s at most), mounted read-only as `rootfstype=` or as
 * its magic says (squashfs, ISO 9660, else erofs). Any failure is printed (`mobyts-loader: …`) and powers the machine off.
 */
export function loaderInit(o: { version: string; modules: readonly string[]; devices: readonly string[] }): string {
  const dir = `/lib/modules/${o.version}`;
  return `#!/bin/busybox sh
# mobyts loader initrd (docs/formats.md): load the modules that reach the root image, mount it, run its /init.
b=/bin/busybox
$b mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
$b mount -t proc proc /proc
fail() { echo "mobyts-loader: $*"; $b poweroff -f; }
for m in ${o.modules.map((m) => `${dir}/${m.replace(/\.(gz|xz|zst)$/, '')}`).join(' ')}; do
  $b insmod "$m" || fail "cannot load $m"
done
root= fstype=
for w in $($b cat /proc/cmdline); do
  case "$w" in root=*) root=\${w#root=} ;; rootfstype=*) fstype=\${w#rootfstype=} ;; esac
done
i=0
while :; do
  for d in \${root:-${o.devices.join(' ')}}; do
    [ -b "$d" ] && break 2
  done
  i=$((i + 1)); [ "$i" -gt 300 ] && fail "no root device \${root:-${o.devices.join(' or ')}} after 30 s"
  $b sleep 0.1
done
if [ -z "$fstype" ]; then # by magic: squashfs at 0, ISO 9660 at 32769, else erofs
  case "$($b dd if="$d" bs=4 count=1 2>/dev/null)" in
    hsqs) fstype=squashfs ;;
    *) [ "$($b dd if="$d" bs=1 skip=32769 count=5 2>/dev/null)" = CD001 ] && fstype=iso9660 || fstype=erofs ;;
  esac
fi
$b mount -t "$fstype" -o ro "$d" /newroot || fail "cannot mount $d ($fstype)"
$b umount /proc
$b mount --move /dev /newroot/dev || $b umount /dev
exec $b switch_root /newroot /init
`;
}

/** ELF e_machine values by Go architecture (the ELF spec's EM_* numbers). */
const ELF_MACHINE: Readonly<Record<string, number>> = {
  amd64: 62,
  arm64: 183,
  riscv64: 243,
  s390x: 22,
  '386': 3,
  arm: 40,
};

/** True when `data` is an ELF for `arch` (an arch missing from the table matches nothing). */
export function isElfFor(data: Buffer, arch: string): boolean {
  if (data.length < 20 || data.readUInt32BE(0) !== 0x7f454c46) return false;
  const machine = data[5] === 1 ? data.readUInt16LE(18) : data.readUInt16BE(18);
  return machine === ELF_MACHINE[arch];
}

/** True for an ELF file without a program interpreter (statically linked). */
export function isStaticElf(data: Buffer): boolean {
  if (data.length < 64 || data.readUInt32BE(0) !== 0x7f454c46) return false;
  const is64 = data[4] === 2;
  const le = data[5] === 1;
  const u16 = (o: number) => (le ? data.readUInt16LE(o) : data.readUInt16BE(o));
  const u32 = (o: number) => (le ? data.readUInt32LE(o) : data.readUInt32BE(o));
  const phoff = is64 ? Number(le ? data.readBigUInt64LE(0x20) : data.readBigUInt64BE(0x20)) : u32(0x1c);
  const [phentsize, phnum] = is64 ? [u16(0x36), u16(0x38)] : [u16(0x2a), u16(0x2c)];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 > data.length) return false;
    if (u32(at) === 3) return false; // PT_INTERP
  }
  return true;
}

async function bodyOf(e: TarEntry): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of e.body ?? []) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The wanted module files and `bin/busybox` (when a static regular file) from the filesystem tar. */
async function collect(
  entries: EntryStream,
  want: ReadonlySet<string>,
): Promise<{ files: Map<string, Buffer>; busybox?: Buffer }> {
  const files = new Map<string, Buffer>();
  let busybox: Buffer | undefined;
  for await (const e of entries) {
    const n = e.header.name;
    if (e.header.type === 'file' && (want.has(n) || n === 'bin/busybox')) {
      const data = await bodyOf(e);
      if (n === 'bin/busybox') busybox = isStaticElf(data) ? data : undefined;
      else files.set(n, data);
    } else {
      e.body?.resume();
    }
  }
  return { files, ...(busybox === undefined ? {} : { busybox }) };
}

/**
 * The loader's busybox: the init images' static one when it is for `arch`, else this machine's static one when
 * it is for `arch` (an arm64 loader cannot fall back on an amd64 host's busybox).
 */
async function loaderBusybox(fromImages: Buffer | undefined, arch: string): Promise<Buffer> {
  if (fromImages !== undefined && isElfFor(fromImages, arch)) return fromImages;
  const data = await readFile(HOST_BUSYBOX).catch(() => undefined);
  if (data !== undefined && isStaticElf(data) && isElfFor(data, arch)) return data;
  const host =
    data !== undefined && isStaticElf(data) ? `this machine's is not for ${arch}` : 'neither has this machine';
  throw new MobyError(
    `Cannot write the loader initrd: the init images have no static /bin/busybox for ${arch} and ${host}`,
    {
      code: 'TOOL_MISSING',
      hint: `add a static busybox for ${arch} at /bin/busybox to an init image, or apt-get install busybox-static on an ${arch} host (docs/formats.md)`,
    },
  );
}

/** A module file as the loader's busybox insmod needs it: uncompressed. */
async function unpackModule(path: string, data: Buffer, workDir: string, signal: AbortSignal): Promise<Buffer> {
  if (path.endsWith('.gz')) return gunzipSync(data);
  if (path.endsWith('.zst')) return zstdDecompressSync(data);
  if (!path.endsWith('.xz')) return data;
  const src = join(workDir, 'module.ko.xz');
  const dst = join(workDir, 'module.ko');
  await writeFile(src, data);
  await runTool(TOOLS.xz, ['-dc'], { stdin: src, stdout: dst, signal });
  return readFile(dst);
}

function header(
  name: string,
  type: TarHeader['type'],
  mode: number,
  mtime: number,
  size = 0,
  dev?: [number, number],
): TarHeader {
  return {
    name,
    type,
    mode,
    uid: 0,
    gid: 0,
    mtime,
    size,
    ...(dev === undefined ? {} : { devmajor: dev[0], devminor: dev[1] }),
  };
}

/** Every directory above `paths` and `paths` themselves, parents first, sorted. */
function withParents(paths: readonly string[]): string[] {
  const dirs = new Set<string>();
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...dirs].sort();
}

function loaderEntries(files: ReadonlyMap<string, Buffer>, mtime: number): EntryStream {
  return Readable.from(loaderEntryList(files, mtime));
}

function* loaderEntryList(files: ReadonlyMap<string, Buffer>, mtime: number): Generator<TarEntry> {
  const names = [...files.keys()].sort();
  const dirs = new Set([...withParents(names), 'dev', 'proc', 'sys', 'newroot']);
  const all = [...new Set([...dirs, ...names, 'dev/console'])].sort();
  for (const n of all) {
    const data = files.get(n);
    if (data !== undefined)
      yield {
        header: header(n, 'file', n === 'init' || n === 'bin/busybox' ? 0o755 : 0o644, mtime, data.length),
        body: Readable.from([data]),
      };
    else if (n === 'dev/console') yield { header: header(n, 'character-device', 0o600, mtime, 0, [5, 1]) };
    else yield { header: header(n, 'directory', 0o755, mtime) };
  }
}

/** Writes the loader initrd at `o.out` (a temporary path the caller renames). */
export async function writeLoaderInitrd(o: LoaderInput): Promise<void> {
  const prefix = `lib/modules/${o.version}/`;
  const found = await collect(readTarFile(o.rootfsTar), new Set(o.modules.map((m) => prefix + m)));
  const files = new Map<string, Buffer>();
  for (const m of o.modules) {
    const data = found.files.get(prefix + m);
    if (data === undefined)
      throw new MobyError(`Cannot write the loader initrd: ${prefix}${m} is not in the filesystem`, { code: 'BUILD' });
    files.set(prefix + m.replace(/\.(gz|xz|zst)$/, ''), await unpackModule(m, data, o.workDir, o.signal));
  }
  files.set('bin/busybox', await loaderBusybox(found.busybox, o.arch));
  files.set('init', Buffer.from(loaderInit(o)));
  await writeInitrd(loaderEntries(files, o.mtime), {
    compress: 'gzip',
    out: createWriteStream(o.out),
    prependUcode: false,
    reporter: o.reporter,
  });
}
