/**
 * The `files` section (docs/linuxkit-behaviour.md#files).
 *
 * Differences from LinuxKit, on purpose:
 * - `source` is relative to the directory of the spec file that declares it (LinuxKit: the process CWD), so
 *   a build gives the same result from any directory; `~/` still means $HOME.
 * - Parent directories are created only when missing from the whole stream: a file `etc/foo` no longer turns
 *   an existing `/etc` into 0700 at boot. A `directory: true` entry for a path the stream already has cannot
 *   change it (the first entry of a directory wins, see tracker.ts) and is reported with a warning.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { FileSpec, IdRef } from '../spec/types.ts';
import type { TarEntry } from '../tar/entry.ts';
import { resolveId } from '../runtime/ids.ts';
import { errnoDetail, MobyError } from '../util/errors.ts';
import { cleanName } from './safe-name.ts';
import { dirEntry, fileEntry, parentsOf, symlinkEntry, type SynthOptions } from './synth.ts';
import type { PathTracker } from './tracker.ts';

export interface FilesPlanOptions {
  /** Directory of the spec file declaring each entry, by index (stdin/URL specs: the CWD). */
  specDirs: string[];
  idMap: ReadonlyMap<string, number>;
  /** Renders the merged spec for `metadata: yaml|json`. */
  metadata(format: 'yaml' | 'json'): string;
  home?: string;
}

/** One resolved `files` entry. */
export interface FilePlan {
  index: number;
  path: string;
  kind: 'directory' | 'symlink' | 'file';
  mode: number;
  uid: number;
  gid: number;
  target?: string;
  data?: Buffer;
  /** Host file streamed at write time. */
  hostPath?: string;
  size?: number;
}

function fileError(i: number, path: string, detail: string, cause?: unknown): MobyError {
  return new MobyError(`Cannot add files[${i}] "${path}": ${detail}`, {
    code: 'SPEC_INVALID',
    ...(cause === undefined ? {} : { cause }),
  });
}

/** uid/gid: a number, `""`/`root` (0), or a container name from the id map (docs/linuxkit-behaviour.md#ids). */
function idOf(
  ref: IdRef | undefined,
  field: string,
  at: { i: number; path: string; idMap: ReadonlyMap<string, number> },
): number {
  const r = resolveId(ref, at.idMap);
  if (typeof r === 'string') throw fileError(at.i, at.path, `${field}: ${r}`);
  return r;
}

function expandHome(p: string, home: string): string {
  return p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p;
}

/** The host path of a `source`: `~` is the home directory, a relative path is relative to `specDir`. */
export function sourcePath(source: string, specDir: string | undefined, home: string = homedir()): string {
  const raw = expandHome(source, home);
  return isAbsolute(raw) ? raw : resolve(specDir ?? process.cwd(), raw);
}

async function sourceOf(
  f: FileSpec,
  i: number,
  o: FilesPlanOptions,
): Promise<Pick<FilePlan, 'hostPath' | 'size'> | undefined> {
  const hostPath = sourcePath(f.source ?? '', o.specDirs[i], o.home);
  try {
    const st = await stat(hostPath);
    if (!st.isFile()) throw fileError(i, f.path, `source "${hostPath}" is not a regular file`);
    return { hostPath, size: st.size };
  } catch (err) {
    if (err instanceof MobyError) throw err;
    if (f.optional === true) return undefined;
    throw fileError(i, f.path, `cannot read source "${hostPath}"${errnoDetail(err)}`, err);
  }
}

async function planOne(f: FileSpec, i: number, o: FilesPlanOptions): Promise<FilePlan | undefined> {
  const path = cleanName(f.path);
  if (path === '') throw fileError(i, f.path, 'did not specify a path');
  const kind = f.directory === true ? 'directory' : f.symlink !== undefined ? 'symlink' : 'file';
  const mode = f.mode === undefined ? (kind === 'directory' ? 0o700 : 0o600) : parseInt(f.mode, 8);
  const at = { i, path: f.path, idMap: o.idMap };
  const base = { index: i, path, kind, mode, uid: idOf(f.uid, 'uid', at), gid: idOf(f.gid, 'gid', at) } as const;
  if (kind === 'directory') return base;
  if (kind === 'symlink') return { ...base, target: f.symlink };
  if (f.metadata !== undefined)
    return { ...base, data: Buffer.from(o.metadata(f.metadata === 'json' ? 'json' : 'yaml')) };
  if (f.source !== undefined) {
    const src = await sourceOf(f, i, o);
    return src === undefined ? undefined : { ...base, ...src };
  }
  return { ...base, data: Buffer.from(f.contents ?? '') };
}

/** Resolves every entry (reads metadata, stats sources); optional missing sources are dropped. */
export async function planFiles(files: FileSpec[], o: FilesPlanOptions): Promise<FilePlan[]> {
  const plans: FilePlan[] = [];
  for (const [i, f] of files.entries()) {
    const p = await planOne(f, i, o);
    if (p !== undefined) plans.push(p);
  }
  return plans;
}

/** Claims the non-directory paths of `files`, which come after every image in the stream. */
export function claimFiles(plans: FilePlan[], tracker: PathTracker): void {
  for (const p of plans) if (p.kind !== 'directory') tracker.claim(p.path, `files[${p.index}]`);
}

/** Missing parents get the file's mode plus `x` for each class with any bit (0600 → 0700), and its owner. */
export function parentMode(mode: number): number {
  let m = mode & 0o777;
  for (const [any, x] of [
    [0o700, 0o100],
    [0o070, 0o010],
    [0o007, 0o001],
  ] as const)
    if ((m & any) !== 0) m |= x;
  return m;
}

function entryOf(p: FilePlan, s: SynthOptions): TarEntry {
  if (p.kind === 'directory') return dirEntry(p.path, s);
  if (p.kind === 'symlink') return symlinkEntry(p.path, p.target ?? '', s);
  if (p.hostPath !== undefined) {
    return { header: { ...fileEntry(p.path, '', s).header, size: p.size ?? 0 }, body: createReadStream(p.hostPath) };
  }
  return fileEntry(p.path, p.data ?? Buffer.alloc(0), s);
}

export interface FilesSectionOptions {
  plans: FilePlan[];
  tracker: PathTracker;
  mtime: number;
  onFile?(plan: FilePlan): void;
  warn(message: string): void;
}

export function* filesSection(o: FilesSectionOptions): Generator<TarEntry> {
  for (const p of o.plans) {
    const owner = `files[${p.index}]`;
    const s: SynthOptions = {
      source: 'linuxkit.files',
      location: owner,
      mtime: o.mtime,
      mode: p.mode,
      uid: p.uid,
      gid: p.gid,
    };
    o.onFile?.(p);
    for (const parent of parentsOf(p.path)) {
      const d = dirEntry(parent, { ...s, mode: parentMode(p.mode) });
      if (o.tracker.admit(d.header, owner)) yield d;
    }
    const e = entryOf(p, s);
    if (o.tracker.admit(e.header, owner)) {
      yield e;
    } else {
      e.body?.destroy();
      if (p.kind === 'directory')
        o.warn(`files[${p.index}]: "${p.path}" already exists in the image; its mode and owner are left unchanged`);
      else o.warn(`files[${p.index}]: "${p.path}" is not written: the image has a directory there`);
    }
  }
}
