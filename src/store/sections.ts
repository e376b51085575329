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
 * copied into the initrd (segments.ts). A damaged entry is removed and reported, and the build makes the
 * member again — a damaged member is never shipped. Keys are content addresses of everything that determines the
 * member's bytes (segments.ts `segmentKey`), so entries never go stale; `mobyts cache clean` evicts them.
 * A cache directory that cannot be written gives no section cache: builds still work, without caching.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Reporter } from '../util/reporter.ts';

/** What is stored with a member: JSON, but for `section.blobs`, kept as files (the initrd's `SegmentRecord`). */
export interface StoredRecord {
  section: { blobs?: Record<string, Buffer> };
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

async function hashFile(path: string): Promise<StoredFile> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of createReadStream(path)) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
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

class SectionCache<R extends StoredRecord> implements SectionStore<R> {
  readonly dir: string;
  private readonly reporter: Reporter;

  constructor(dir: string, reporter: Reporter) {
    this.dir = dir;
    this.reporter = reporter;
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
      for (const [name, want] of Object.entries(stored.blobs)) {
        const b = await readFile(join(dir, `blob-${name}`));
        if (hashBuffer(b).digest !== want.digest)
          return await this.damaged(key, `its ${name} does not match its digest`);
        blobs[name] = b;
      }
      const record: R = {
        ...stored.record,
        section: { ...stored.record.section, ...(Object.keys(blobs).length === 0 ? {} : { blobs }) },
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
      const { blobs = {}, ...section } = record.section;
      const stored: StoredEntry<R> = {
        version: FORMAT,
        member: made ?? (await hashFile(file)),
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
 * cache directory): the build then compresses every section and keeps nothing.
 */
export async function openSectionCache<R extends StoredRecord>(
  cacheDir: string,
  reporter: Reporter,
): Promise<SectionStore<R> | undefined> {
  const dir = sectionsDir(cacheDir);
  try {
    await mkdir(dir, { recursive: true });
    return new SectionCache<R>(dir, reporter);
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
