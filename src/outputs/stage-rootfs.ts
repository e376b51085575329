/**
 * Unpacks the filesystem tar into a scratch directory for the tools that only read directories (xorriso,
 * mksquashfs, mkfs.erofs), without root: ownership, exact modes and device nodes cannot be created by an
 * unprivileged user, so they are returned as a list for the tool to apply to the image instead.
 */
import { createReadStream } from 'node:fs';
import { chmod, link, mkdir, rm, symlink, utimes, lutimes } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { extract, type Header } from 'tar-stream';
import { MobyError } from '../util/errors.ts';

export interface StagedEntry {
  /** Clean relative path. */
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  mode: number;
  uid: number;
  gid: number;
  devmajor: number;
  devminor: number;
  /** False for device nodes and fifos, which exist only in this list. */
  onDisk: boolean;
}

export interface StagedTree {
  dir: string;
  /** Every entry in tar order (the last occurrence of a path wins). */
  entries: StagedEntry[];
}

const TYPES: Partial<Record<string, StagedEntry['type']>> = {
  file: 'file', directory: 'directory', symlink: 'symlink', link: 'link',
  'character-device': 'character-device', 'block-device': 'block-device', fifo: 'fifo',
};

/** A safe relative path or a MobyError (UNSAFE_CONTENT). */
function cleanName(name: string): string {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..') || name.startsWith('/')) {
    throw new MobyError(`Cannot stage the filesystem: unsafe path "${name}" in the tar`, { code: 'UNSAFE_CONTENT' });
  }
  return parts.join('/');
}

/**
 * Extracts `tarPath` into `dir` (created). Directories end up owner-writable and everything owner-readable so
 * tools can read them; the exact metadata is in the returned list. Throws UNSAFE_CONTENT for paths that leave
 * `dir` (`..`, or through a symlink in the tar) and for unsupported entry types.
 */
export async function stageRootfs(tarPath: string, dir: string): Promise<StagedTree> {
  await mkdir(dir, { recursive: true });
  const byPath = new Map<string, StagedEntry>();
  const symlinks = new Set<string>();
  const ex = extract();
  const done = pipeline(createReadStream(tarPath), ex);
  try {
    for await (const entry of ex) {
      const h = entry.header;
      const path = cleanName(h.name);
      if (path === '') {
        entry.resume();
        continue;
      }
      guardParents(path, symlinks);
      const staged = toStaged(path, h);
      await place(dir, staged, h, entry as unknown as Readable);
      if (staged.type === 'symlink') symlinks.add(path);
      else symlinks.delete(path);
      byPath.delete(path);
      byPath.set(path, staged);
    }
    await done;
  } catch (err) {
    ex.destroy();
    await done.catch(() => undefined);
    throw err;
  }
  return { dir, entries: [...byPath.values()] };
}

function guardParents(path: string, symlinks: Set<string>): void {
  for (let p = dirname(path); p !== '.'; p = dirname(p)) {
    if (symlinks.has(p)) throw new MobyError(`Cannot stage the filesystem: "${path}" lies under the symlink "${p}"`, { code: 'UNSAFE_CONTENT' });
  }
}

function toStaged(path: string, h: Header): StagedEntry {
  const type = TYPES[h.type ?? 'file'];
  if (type === undefined) throw new MobyError(`Cannot stage the filesystem: unsupported tar entry type "${h.type}" at "${path}"`, { code: 'UNSAFE_CONTENT' });
  const special = type === 'character-device' || type === 'block-device' || type === 'fifo';
  return {
    path, type, mode: (h.mode ?? 0o644) & 0o7777, uid: h.uid ?? 0, gid: h.gid ?? 0,
    devmajor: h.devmajor ?? 0, devminor: h.devminor ?? 0, onDisk: !special,
  };
}

async function place(dir: string, e: StagedEntry, h: Header, body: Readable): Promise<void> {
  const target = join(dir, e.path);
  await mkdir(dirname(target), { recursive: true });
  if (e.type !== 'directory') await rm(target, { force: true, recursive: true });
  const mtime = h.mtime ?? new Date(0);
  if (e.type === 'file') {
    await pipeline(body, createWriteStream(target));
    await chmod(target, e.mode | 0o400);
    await utimes(target, mtime, mtime);
    return;
  }
  body.resume();
  if (e.type === 'directory') {
    await mkdir(target, { recursive: true });
    await chmod(target, e.mode | 0o700);
  } else if (e.type === 'symlink') {
    await symlink(h.linkname ?? '', target);
    await lutimes(target, mtime, mtime);
  } else if (e.type === 'link') {
    await link(join(dir, cleanName(h.linkname ?? '')), target);
  }
}

/** The permission bits the staged copy has on disk (for deciding which modes the image must override). */
export function diskMode(e: StagedEntry): number {
  if (e.type === 'directory') return e.mode | 0o700;
  if (e.type === 'file') return e.mode | 0o400;
  return 0o777;
}
