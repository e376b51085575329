/**
 * Unpacks the filesystem tar into a scratch directory for the tools that only read directories (xorriso,
 * mksquashfs, mkfs.erofs), without root: ownership, exact modes and device nodes cannot be created by an
 * unprivileged user, so they are returned as a list for the tool to apply to the image instead. Extended
 * attributes (`security.capability` above all) cannot be set by an unprivileged user either, and no image tool
 * here takes them from a list: the files that carried them are returned too, for a warning (docs/formats.md).
 */
import { createReadStream } from 'node:fs';
import { chmod, link, lutimes, mkdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { TarHeader } from '../tar/entry.ts';
import { readTar } from '../tar/read.ts';
import { ESCAPES_ROOT, UnsafePathError } from '../tar/safe-path.ts';
import { describeXattrs, droppedXattrsList, type DroppedXattrs } from '../initrd/xattrs.ts';
import { errnoText, MobyError } from '../util/errors.ts';
import type { Reporter } from '../util/reporter.ts';

export interface StagedEntry {
  /** Clean relative path. */
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  /** Mode, uid and gid: a hardlink's are its target's (one inode), whatever its own header says. */
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
  /** Files (their last entry) whose tar xattrs the staged copy does not have, in tar order. */
  droppedXattrs: DroppedXattrs[];
}

/**
 * readTar cleans names and refuses `..` escapes itself; its error is restated in this module's words so a
 * user sees which step refused the tar. A file-system failure placing an entry (a full disk, an entry under
 * a path the tar made a file) names the entry and the directory. Other errors pass through unchanged.
 */
function stagingError(err: unknown, path: string, dir: string): unknown {
  const errno = (err as NodeJS.ErrnoException | null)?.code;
  if (!(err instanceof MobyError) && typeof errno === 'string') {
    return new MobyError(`Cannot stage "${path}" of the filesystem in "${dir}": ${errnoText(err) ?? errno}`, {
      code: 'IO',
      cause: err,
    });
  }
  return err instanceof UnsafePathError && err.detail === ESCAPES_ROOT
    ? new MobyError(`Cannot stage the filesystem: unsafe path "${err.path}" in the tar`, {
        code: 'UNSAFE_CONTENT',
        cause: err,
      })
    : err;
}

/**
 * Extracts `tarPath` into `dir` (created). Directories end up owner-writable and everything owner-readable so
 * tools can read them; the exact metadata is in the returned list. Throws UNSAFE_CONTENT for paths that leave
 * `dir` (`..`, or through a symlink in the tar) and for unsupported entry types.
 */
export async function stageRootfs(tarPath: string, dir: string): Promise<StagedTree> {
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  const byPath = new Map<string, StagedEntry>();
  const symlinks = new Set<string>();
  const xattrs = new Map<string, string[]>();
  let current = '';
  try {
    for await (const { header: h, body } of readTar(createReadStream(tarPath), { subject: tarPath })) {
      const path = h.name;
      current = path;
      if (path === '') {
        body?.resume();
        continue;
      }
      guardParents(path, symlinks);
      let staged = toStaged(path, h);
      if (staged.type === 'link') {
        const target = guardLink(path, h.linkname ?? '', byPath, symlinks);
        staged = { ...staged, mode: target.mode, uid: target.uid, gid: target.gid };
      }
      // a directory entry over a staged symlink replaces the symlink (chmod must never follow it out)
      if (staged.type === 'directory' && symlinks.has(path)) await rm(join(dir, path), { force: true });
      await place(dir, staged, h, body);
      if (staged.type === 'symlink') symlinks.add(path);
      else symlinks.delete(path);
      byPath.delete(path);
      byPath.set(path, staged);
      const what = describeXattrs(h.pax);
      xattrs.delete(path);
      if (what.length > 0) xattrs.set(path, what);
    }
  } catch (err) {
    throw stagingError(err, current, dir);
  }
  const droppedXattrs = [...xattrs].map(([name, what]) => ({ name, what }));
  return { dir, entries: [...byPath.values()], droppedXattrs };
}

/**
 * The one warning when the tar's files carried xattrs that `image` (`squashfs`, `erofs`, `ISO`) does not get,
 * naming the files (the first 20) and what they lose, capabilities as getcap prints them, like the initrd's
 * (docs/compat.md). `why` says why the image cannot hold them. Nothing when no file had any.
 */
export function warnDroppedXattrs(reporter: Reporter, image: string, why: string, staged: StagedTree): void {
  const dropped = staged.droppedXattrs;
  if (dropped.length === 0) return;
  reporter.emit({
    type: 'warn',
    message: `The ${image} image cannot hold extended attributes (${why}): dropped them from ${droppedXattrsList(dropped.length, dropped)}; in the booted system these files lack them (only the tar output keeps extended attributes)`,
  });
}

function guardParents(path: string, symlinks: Set<string>): void {
  for (let p = dirname(path); p !== '.'; p = dirname(p)) {
    if (symlinks.has(p))
      throw new MobyError(`Cannot stage the filesystem: "${path}" lies under the symlink "${p}"`, {
        code: 'UNSAFE_CONTENT',
      });
  }
}

/** A hardlink may only point at an earlier entry of the tar that is not reached through a symlink: that entry. */
function guardLink(path: string, target: string, byPath: Map<string, StagedEntry>, symlinks: Set<string>): StagedEntry {
  const to = byPath.get(target);
  if (to === undefined || to.type === 'directory' || to.type === 'symlink' || !to.onDisk) {
    throw new MobyError(
      `Cannot stage the filesystem: the hardlink "${path}" points at "${target}", which is not a file earlier in the tar`,
      { code: 'UNSAFE_CONTENT' },
    );
  }
  guardParents(target, symlinks);
  return to;
}

function toStaged(path: string, h: TarHeader): StagedEntry {
  const type = h.type;
  const special = type === 'character-device' || type === 'block-device' || type === 'fifo';
  return {
    path,
    type,
    mode: h.mode & 0o7777,
    uid: h.uid,
    gid: h.gid,
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
    onDisk: !special,
  };
}

async function place(dir: string, e: StagedEntry, h: TarHeader, body: Readable | undefined): Promise<void> {
  const target = join(dir, e.path);
  await mkdirParents(dirname(target));
  if (e.type !== 'directory') await rm(target, { force: true, recursive: true });
  const mtime = h.mtime;
  if (e.type === 'file') {
    if (body === undefined) await writeFile(target, '');
    else await pipeline(body, createWriteStream(target));
    await chmod(target, e.mode | 0o400);
    await utimes(target, mtime, mtime);
    return;
  }
  body?.resume();
  if (e.type === 'directory') {
    await mkdir(target, { recursive: true });
    await chmod(target, e.mode | 0o700);
  } else if (e.type === 'symlink') {
    await symlink(h.linkname ?? '', target);
    await lutimes(target, mtime, mtime);
  } else if (e.type === 'link') {
    await link(join(dir, h.linkname ?? ''), target);
  }
}

/**
 * Creates `path` and its missing parents as 0755 whatever the umask: a directory the tar does not list keeps
 * these bits, and images that take modes from the disk (erofs) must not depend on the builder's umask.
 */
async function mkdirParents(path: string): Promise<void> {
  const first = await mkdir(path, { recursive: true });
  if (first === undefined) return;
  for (let p = path; ; p = dirname(p)) {
    await chmod(p, 0o755);
    if (p === first || p === dirname(p)) break;
  }
}

/** The permission bits the staged copy has on disk (for deciding which modes the image must override). */
export function diskMode(e: StagedEntry): number {
  if (e.type === 'directory') return e.mode | 0o700;
  if (e.type === 'file') return e.mode | 0o400;
  return 0o777;
}
