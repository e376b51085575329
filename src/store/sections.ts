/**
 * The section cache: compressed initrd members (src/initrd/segments.ts) kept between builds under
 * `<cache>/.mobyts/sections/<key>/`, beside the image layout (never in TMPDIR). Each entry is a directory:
 *
 * - `member`: the compressed segment, exactly as it goes into an initrd;
 * - `blob-<name>`: data the section gives back on replay (the kernel binary, the microcode);
 * - `record.json`: `{ version, member: { digest, size }, blobs: { name: { digest, size } }, record }`.
 *
 * An entry appears whole or not at all (built in a sibling temp directory, then renamed); the member's work file
 * is removed only once its entry is in place, so a store that fails (a full disk) leaves no temp directory and
 * the build goes on with its own file, without caching (docs/formats.md). On use the blobs are
 * re-hashed against `record.json` and the member's size checked; the member itself is hashed while it is
 * copied into the initrd (segments.ts). Blobs the build only copies into a file (the kernel binary, the
 * microcode: `copied` of `openSectionCache`) are not read here but handed over as `KeptBlob`s and hashed
 * while they are copied (`copyKeptBlob`), so a build that reuses the kernel section holds no copy of the
 * kernel in memory. A damaged entry is removed and reported, and the build makes the member again — a
 * damaged member or blob is never shipped. Keys are content addresses of everything that determines the
 * member's bytes (segments.ts `segmentKey`), so entries never go stale; `mobyts cache clean` evicts them.
 * A cache directory that cannot be written gives no section cache: builds still work, without caching.
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestOfFile } from '../oci/digest.ts';
import type { Reporter } from '../util/reporter.ts';

/**
 * What is stored with a member: JSON, but for `section.blobs`, kept as files (the initrd's `SegmentRecord`).
 * From `get`, the blobs named in `copied` are in `section.kept` instead, unread.
 */
export interface StoredRecord {
  section: { blobs?: Record<string, Buffer>; kept?: Record<string, KeptBlob> };
}

/**
 * A blob of a section cache entry handed over unread: its file in the entry and what it must hash to. Use it
 * only through `copyKeptBlob`, which checks what it copies; when that fails, evict entry `key`.
 */
export interface KeptBlob {
  key: string;
  path: string;
  digest: string;
  size: number;
}

/** A member found in the cache (its size and blobs checked; the caller hashes the member as it reads it). */
export interface CachedMember<R> {
  path: string;
  record: R;
  /** `sha256:…` of the member's bytes as stored. */
  digest: string;
}

/** The section cache as the initrd writer uses it (src/initrd/segments.ts `SegmentCache`). */
export interface SectionStore<R> {
  get(key: string): Promise<CachedMember<R> | undefined>;
  /** `made`: the member's digest and size as its writer computed them (else the file is hashed here). */
  put(key: string, file: string, record: R, made?: StoredFile): Promise<string>;
  evict(key: string, why: string): Promise<void>;
}

const FORMAT = 1;
const KEY = /^[0-9a-f]{64}$/;

export interface StoredFile {
  digest: string;
  size: number;
}

interface StoredEntry<R> {
  version: number;
  member: StoredFile;
  blobs: Record<string, StoredFile>;
  /** The record without its blobs. */
  record: R;
}

/** Where the section cache of the cache directory `cacheDir` lives. */
export function sectionsDir(cacheDir: string): string {
  return join(cacheDir, '.mobyts', 'sections');
}

/** Where section `key`'s member is once the section cache of `cacheDir` holds it. */
export function memberPath(cacheDir: string, key: string): string {
  return join(sectionsDir(cacheDir), key, 'member');
}

function hashBuffer(b: Buffer): StoredFile {
  return { digest: `sha256:${createHash('sha256').update(b).digest('hex')}`, size: b.length };
}

/**
 * Puts `from` at `to` too, without moving it: a hard link (no space needed), else a copy (another file system).
 * The caller removes `from` once the entry is in place, so a store that fails never loses the member.
 */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw err;
    await copyFile(from, to);
  }
}

/** Copies of kept blobs are made through this much memory, reused: no buffer of the whole blob. */
const COPY_CHUNK = 1 << 18;

/**
 * Copies the kept blob `blob` to `to` (replaced), hashing the bytes it copies; false (and `to` removed) when
 * they do not have the blob's recorded size and digest, or the blob is gone (`mobyts cache clean` meanwhile):
 * the entry must not be used.
 */
export async function copyKeptBlob(blob: KeptBlob, to: string): Promise<boolean> {
  const hash = createHash('sha256');
  let size = 0;
  const from = await open(blob.path, 'r').catch(() => undefined);
  if (from === undefined) return false;
  try {
    const out = await open(to, 'w');
    try {
      const chunk = Buffer.allocUnsafe(COPY_CHUNK);
      for (;;) {
        const { bytesRead } = await from.read(chunk, 0, chunk.length, null);
        if (bytesRead === 0) break;
        const bytes = chunk.subarray(0, bytesRead);
        hash.update(bytes);
        size += bytesRead;
        await out.write(bytes);
      }
    } finally {
      await out.close();
    }
  } finally {
    await from.close();
  }
  if (size === blob.size && `sha256:${hash.digest('hex')}` === blob.digest) return true;
  await rm(to, { force: true });
  return false;
}

/** The bytes of the kept blob `blob`, or undefined when they do not match its recorded size and digest. */
export async function readKeptBlob(blob: KeptBlob): Promise<Buffer | undefined> {
  const b = await readFile(blob.path);
  return b.length === blob.size && hashBuffer(b).digest === blob.digest ? b : undefined;
}

class SectionCache<R extends StoredRecord> implements SectionStore<R> {
  readonly dir: string;
  private readonly reporter: Reporter;
  private readonly copied: ReadonlySet<string>;

  constructor(dir: string, reporter: Reporter, copied: ReadonlySet<string>) {
    this.dir = dir;
    this.reporter = reporter;
    this.copied = copied;
  }

  async get(key: string): Promise<CachedMember<R> | undefined> {
    if (!KEY.test(key)) return undefined;
    const dir = join(this.dir, key);
    let stored: StoredEntry<R>;
    try {
      stored = JSON.parse(await readFile(join(dir, 'record.json'), 'utf8')) as StoredEntry<R>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      return this.damaged(key, 'its record cannot be read');
    }
    if (stored.version !== FORMAT) return this.damaged(key, `it has format ${String(stored.version)}`);
    const member = join(dir, 'member');
    try {
      if ((await stat(member)).size !== stored.member.size)
        return await this.damaged(key, 'its member does not have its recorded size');
      const blobs: Record<string, Buffer> = {};
      const kept: Record<string, KeptBlob> = {};
      for (const [name, want] of Object.entries(stored.blobs)) {
        const path = join(dir, `blob-${name}`);
        if (this.copied.has(name)) {
          // hashed when copied (copyKeptBlob); a wrong size is already known to be damage
          if ((await stat(path)).size !== want.size)
            return await this.damaged(key, `its ${name} does not have its recorded size`);
          kept[name] = { key, path, digest: want.digest, size: want.size };
          continue;
        }
        const b = await readFile(path);
        if (hashBuffer(b).digest !== want.digest)
          return await this.damaged(key, `its ${name} does not match its digest`);
        blobs[name] = b;
      }
      const record: R = {
        ...stored.record,
        section: {
          ...stored.record.section,
          ...(Object.keys(blobs).length === 0 ? {} : { blobs }),
          ...(Object.keys(kept).length === 0 ? {} : { kept }),
        },
      };
      return { path: member, record, digest: stored.member.digest };
    } catch {
      return this.damaged(key, 'a file of it is missing');
    }
  }

  async evict(key: string, why: string): Promise<void> {
    await this.damaged(key, why);
  }

  private async damaged(key: string, why: string): Promise<undefined> {
    this.reporter.emit({
      type: 'warn',
      message: `The section cache entry ${key.slice(0, 12)} is damaged (${why}): removed, the section is built again`,
    });
    await rm(join(this.dir, key), { recursive: true, force: true }).catch(() => {});
    return undefined;
  }

  /**
   * Stores the member at `file` under `key` and removes `file`; returns where the member is now. On failure
   * (a full disk) nothing of the entry is left and `file` is kept where it was, for the build to use.
   */
  async put(key: string, file: string, record: R, made?: StoredFile): Promise<string> {
    if (!KEY.test(key)) throw new Error(`not a section key: ${key}`);
    const final = join(this.dir, key);
    const tmp = join(this.dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(tmp, { recursive: true });
      // (a record `get` gave is never stored with the paths of its kept blobs)
      const { blobs = {}, kept: _, ...section } = record.section;
      const stored: StoredEntry<R> = {
        version: FORMAT,
        member: made ?? (await digestOfFile(file)),
        blobs: {},
        record: { ...record, section },
      };
      for (const [name, b] of Object.entries(blobs)) {
        await writeFile(join(tmp, `blob-${name}`), b);
        stored.blobs[name] = hashBuffer(b);
      }
      await writeFile(join(tmp, 'record.json'), JSON.stringify(stored));
      await linkOrCopy(file, join(tmp, 'member'));
      try {
        await rename(tmp, final);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
        // Another build stored the same key meanwhile: same bytes; keep theirs.
        await rm(tmp, { recursive: true, force: true });
      }
    } catch (err) {
      await rm(tmp, { recursive: true, force: true }).catch(() => {});
      throw err;
    }
    await rm(file, { force: true });
    return join(final, 'member');
  }
}

/**
 * The section cache of `cacheDir`, created when missing; undefined when it cannot be created (a read-only
 * cache directory): the build then compresses every section and keeps nothing. `copied`: the names of the
 * blobs `get` hands over unread, as `KeptBlob`s (those the build only copies into a file).
 */
export async function openSectionCache<R extends StoredRecord>(
  cacheDir: string,
  reporter: Reporter,
  copied: ReadonlySet<string> = new Set(),
): Promise<SectionStore<R> | undefined> {
  const dir = sectionsDir(cacheDir);
  try {
    await mkdir(dir, { recursive: true });
    return new SectionCache<R>(dir, reporter, copied);
  } catch {
    reporter.emit({ type: 'debug', message: `No section cache: cannot create "${dir}"` });
    return undefined;
  }
}

export interface SectionCacheInfo {
  entries: number;
  bytes: number;
}

/** How many section cache entries there are and the bytes they take. */
export async function listSections(cacheDir: string): Promise<SectionCacheInfo> {
  const dir = sectionsDir(cacheDir);
  const names = await readdir(dir).catch(() => [] as string[]);
  let bytes = 0;
  let entries = 0;
  for (const name of names.filter((n) => KEY.test(n))) {
    entries++;
    for (const f of await readdir(join(dir, name)).catch(() => [] as string[]))
      bytes += await stat(join(dir, name, f)).then(
        (s) => s.size,
        () => 0,
      );
  }
  return { entries, bytes };
}

/** Removes every section cache entry (and leftovers of interrupted writes). */
export async function cleanSections(cacheDir: string): Promise<SectionCacheInfo> {
  const info = await listSections(cacheDir);
  const dir = sectionsDir(cacheDir);
  for (const name of await readdir(dir).catch(() => [] as string[]))
    await rm(join(dir, name), { recursive: true, force: true });
  return info;
}
