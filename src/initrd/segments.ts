/**
 * The segmented initrd (docs/formats.md, `kernel+initrd`): every section of the OS (kernel modules, each init
 * image, each volume, each container bundle, files, the SBOM) is its own run of newc entries, compressed as its
 * own member; the initrd is the members' concatenation followed by a small member holding `TRAILER!!!`.
 *
 * - The kernel's initramfs unpacker reads concatenated compressed members as one stream of entries (each
 *   member must end on an entry boundary, which every segment does); `zcat initrd | cpio -t` sees one archive
 *   because only the last member has a trailer.
 * - Because the archive is one, inode numbers must not repeat: segment `i` numbers its entries from
 *   `721 + i * INO_SHARE`; a hardlink must point into its own segment (cpio.ts refuses others).
 * - Each member depends only on its section's key (everything that determines its entries), its index, the
 *   compression and SEGMENT_VERSION, so a member can be reused from the section cache (`SegmentCache`) when
 *   its key is unchanged: the bytes are the same as a fresh build's.
 * - One pass: a section's entries are encoded and compressed as they stream, straight into its member file
 *   (the compressor runs on the thread pool while the main thread reads and encodes, so both cores work, and
 *   the next section starts while the last blocks are deflated); no uncompressed cpio is written anywhere.
 *   A hardlink group's nlink count is only known once the section has ended, so a section with hardlinks has
 *   those header fields patched in its member afterwards: for gzip only the blocks holding them are deflated
 *   again (parallel-gzip.ts `patchGzip`), for zstd the member is decompressed and compressed once more. A
 *   member that cannot be written (a full disk) fails the build with one error naming it; a member the
 *   section cache cannot store is used from the work directory.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createZstdCompress, createZstdDecompress, gzipSync, zstdCompressSync } from 'node:zlib';
import type { RootfsSection, SectionRecord } from '../rootfs/section.ts';
import type { EntryStream, TarEntry } from '../tar/entry.ts';
import { asIoError } from '../util/atomic.ts';
import type { Reporter } from '../util/reporter.ts';
import {
  addLostXattrs,
  FIRST_INO,
  NewcEncoder,
  nlinkField,
  reportLostXattrs,
  trailer,
  type LostXattrs,
} from './cpio.ts';
import { DamagedSegment, pipeParts, type Evict, type InitrdPart, type InitrdParts } from './parts.ts';
import { applyPatches, blocks, parallelGzip, patchGzip, type GzipBlock, type InputPatch } from './parallel-gzip.ts';

/** Bump when the bytes of a member for the same section key change (encoder, compressor settings). */
export const SEGMENT_VERSION = 2;
/** Inode numbers per segment: 4 Mi entries each, 1023 segments fit in the 32-bit field. */
export const INO_SHARE = 1 << 22;
const MAX_SEGMENTS = 1023;

export const GZIP_LEVEL = 6;
export const ZSTD_LEVEL = 3;
/** zstd is fed its input in pieces of this size, so the same cpio gives the same member however it streamed. */
const ZSTD_PIECE = 1 << 20;

export type SegmentCompression = 'gzip' | 'zstd' | 'none';

export type { SectionRecord };
export { DamagedSegment };
export type { InitrdPart, InitrdParts };
/** One section of the OS as the assembly offers it (rootfs/assemble.ts `assembleSections`). */
export type InitrdSection = RootfsSection;

/** The record stored with a member: the section's, plus the xattrs newc could not hold. */
export interface SegmentRecord {
  section: SectionRecord;
  lostXattrs: LostXattrs;
  /** The section wrote nothing to the initrd: its member is left out (a first member must not be empty). */
  empty: boolean;
}

/** A member found in the cache: its file, its record and the digest (`sha256:…`) its bytes must have. */
export interface CachedMember {
  path: string;
  record: SegmentRecord;
  digest: string;
  /**
   * Set when the member is still being fetched (a remote cache, src/remote/section-cache.ts): resolves to its
   * path once it is there, or rejects (with DamagedSegment when the initrd must be written again without it).
   */
  ready?: Promise<string>;
}

/** Where members are kept between builds (store/sections.ts). Every method may fail only for I/O reasons. */
export interface SegmentCache {
  /** The member for `key` (its size and blobs checked); undefined when absent or damaged. */
  get(key: string): Promise<CachedMember | undefined>;
  /** Moves the member file at `file` (of digest `sha256:…` and size `made`) into the cache under `key`; returns where it is now. */
  put(key: string, file: string, record: SegmentRecord, made: { digest: string; size: number }): Promise<string>;
  /** Removes the entry for `key`, reporting `why` (its member did not match its digest). */
  evict(key: string, why: string): Promise<void>;
}

/** How a member found damaged while copied leaves `cache` (parts.ts `Evict`). */
export function evictDamaged(cache: SegmentCache | undefined): Evict {
  return (key) => cache?.evict(key, 'its member does not match its digest') ?? Promise.resolve();
}

export interface PlanInitrdOptions {
  compress: SegmentCompression;
  /** Work files (segment cpios and members not cached) go here. */
  workDir: string;
  cache?: SegmentCache;
  reporter: Reporter;
  signal?: AbortSignal;
}

export interface SegmentedInitrdOptions extends PlanInitrdOptions {
  /** Receives the initrd; ended when done, destroyed on failure. */
  out: Writable;
}

export interface SegmentStats {
  /** Sections whose member was reused from the cache. */
  reused: number;
  /** Sections encoded and compressed in this build. */
  compressed: number;
}

/** The cache key of a member: the section's key plus everything the initrd side adds to its bytes. */
export function segmentKey(sectionKey: string, index: number, compress: SegmentCompression): string {
  const level = compress === 'gzip' ? GZIP_LEVEL : compress === 'zstd' ? ZSTD_LEVEL : 0;
  return createHash('sha256')
    .update(JSON.stringify({ v: SEGMENT_VERSION, sectionKey, index, compress, level }))
    .digest('hex');
}

/** What a member file holds: its digest (`sha256:…`) and size. */
interface Made {
  digest: string;
  size: number;
}

/**
 * Compresses `source` into the file `to`; returns what `to` holds. `layout` receives a gzip member's blocks
 * (for `patchGzip`).
 */
async function compressStream(
  source: AsyncIterable<Buffer>,
  to: string,
  kind: SegmentCompression,
  signal: AbortSignal | undefined,
  layout: GzipBlock[] = [],
): Promise<Made> {
  const hash = createHash('sha256');
  let size = 0;
  const hashed = async function* (chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const c of chunks) {
      hash.update(c);
      size += c.length;
      yield c;
    }
  };
  const out = createWriteStream(to);
  const opts = signal === undefined ? {} : { signal };
  if (kind === 'gzip')
    await pipeline(source, parallelGzip({ level: GZIP_LEVEL, onBlock: (b) => layout.push(b) }), hashed, out, opts);
  // zstd's stream output depends on how its input is cut (not gzip's: parallelGzip cuts fixed blocks itself)
  else if (kind === 'zstd')
    await pipeline(
      blocks(source, ZSTD_PIECE),
      createZstdCompress({ params: { [constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL } }),
      hashed,
      out,
      opts,
    );
  else await pipeline(source, hashed, out, opts);
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** `source` with `patches` written over it (offsets into the stream). */
async function* patched(source: AsyncIterable<Buffer>, patches: readonly InputPatch[]): AsyncGenerator<Buffer> {
  let at = 0;
  for await (const chunk of source) {
    const copy = Buffer.from(chunk);
    applyPatches(copy, at, patches);
    at += copy.length;
    yield copy;
  }
}

/**
 * Writes `patches` (the nlink fields of hardlink groups) into the member file `member`, as if its cpio had
 * carried them from the start; returns what the member holds then.
 */
async function patchMember(
  member: string,
  kind: SegmentCompression,
  layout: readonly GzipBlock[],
  patches: readonly InputPatch[],
  signal: AbortSignal | undefined,
): Promise<Made> {
  const to = `${member}.patched`;
  try {
    let made: Made;
    if (kind === 'gzip') made = await patchGzip(member, to, layout, patches, GZIP_LEVEL);
    else {
      const read = createReadStream(member, { highWaterMark: 1 << 20 });
      const cpio: AsyncIterable<Buffer> = kind === 'zstd' ? (read.compose(createZstdDecompress()) as Readable) : read;
      made = await compressStream(patched(cpio, patches), to, kind, signal);
    }
    await rename(to, member);
    return made;
  } catch (err) {
    await rm(to, { force: true });
    throw err;
  }
}

/**
 * A failure to write the work file `path` (a full disk) as one error naming it (`Cannot write "…": ENOSPC: no
 * space left on device`); a failure to read what goes into it passes through as it is.
 */
function writeError(path: string, err: unknown): unknown {
  const e = err as NodeJS.ErrnoException | null;
  return e?.syscall === 'write' || e?.path === path ? asIoError('write', path, err) : err;
}

/** The final member: `TRAILER!!!` padded to 512 bytes, compressed like the others. */
export function trailerMember(kind: SegmentCompression, ino: number): Buffer {
  const t = trailer(ino);
  const cpio = Buffer.concat([t, Buffer.alloc((512 - (t.length % 512)) % 512)]);
  if (kind === 'gzip') {
    const g = gzipSync(cpio, { level: GZIP_LEVEL });
    g[9] = 0xff; // OS byte as Go's writer and parallel-gzip.ts (zlib writes mtime 0 already)
    return g;
  }
  if (kind === 'zstd') return zstdCompressSync(cpio, { params: { [constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL } });
  return cpio;
}

/** Drops `boot/*` but the `boot` directory itself (the kernel, cmdline and microcode ship beside the initrd). */
async function* withoutBootFiles(entries: EntryStream): AsyncGenerator<TarEntry> {
  for await (const e of entries) {
    if (!e.header.name.startsWith('boot/')) {
      yield e;
      continue;
    }
    for await (const _ of e.body ?? []) void _; // drained: the producer needs every body consumed
  }
}

/**
 * A member being produced: resolves to its part (file, size, digest) once compressed (and stored in the cache
 * when there is one); a member reused from the cache names its key (`cacheKey`), so it is checked when read.
 */
interface Member {
  part: Promise<InitrdPart>;
  empty: boolean;
}

class SegmentWriter {
  readonly stats: SegmentStats = { reused: 0, compressed: 0 };
  readonly lost: LostXattrs = { count: 0, shown: [] };
  private readonly o: PlanInitrdOptions;
  private readonly members: Member[] = [];
  /** Every member still being compressed, also of a section that failed before its member was listed. */
  private readonly pending: Array<Promise<unknown>> = [];
  private cacheBroken = false;

  constructor(o: PlanInitrdOptions) {
    this.o = o;
  }

  private note(lost: LostXattrs): void {
    addLostXattrs(this.lost, lost);
  }

  async add(section: InitrdSection, index: number): Promise<void> {
    if (index >= MAX_SEGMENTS) throw new Error(`an initrd holds at most ${MAX_SEGMENTS} sections`);
    const key = segmentKey(section.key, index, this.o.compress);
    const hit = await this.cached(key);
    if (hit !== undefined) {
      section.replay(hit.record.section);
      this.note(hit.record.lostXattrs);
      this.stats.reused++;
      // A member fetched now (a remote cache) was verified as it downloaded; one kept from an earlier build is
      // checked as it is copied into the initrd.
      const part = (hit.ready ?? Promise.resolve(hit.path)).then(async (path) => ({
        path,
        size: (await stat(path)).size,
        digest: hit.digest,
        ...(hit.ready === undefined ? { cacheKey: key } : {}),
      }));
      part.catch(() => {}); // awaited in order by parts(); avoid an unhandled rejection meanwhile
      this.members.push({ part, empty: hit.record.empty });
      this.o.reporter.emit({ type: 'debug', message: `initrd segment ${index} (${section.id}): reused ${key}` });
      return;
    }
    const member = join(this.o.workDir, `segment-${index}.member`);
    const encoder = new NewcEncoder({
      firstIno: FIRST_INO + index * INO_SHARE,
      inoLimit: FIRST_INO + (index + 1) * INO_SHARE,
      trailer: false,
    });
    // Encoded and compressed in one pass; the next section starts once this one's entries have all been read,
    // while its last blocks are still being deflated.
    let encoded = (): void => {};
    const allEncoded = new Promise<void>((resolve) => (encoded = resolve));
    const cpio = async function* (): AsyncGenerator<Buffer> {
      yield* encoder.bytes(withoutBootFiles(section.entries()));
      encoded();
    };
    const layout: GzipBlock[] = [];
    const written = compressStream(cpio(), member, this.o.compress, this.o.signal, layout).catch((err: unknown) => {
      throw writeError(member, err);
    });
    written.catch(() => {}); // awaited below or in order by finish(); avoid an unhandled rejection meanwhile
    this.pending.push(written);
    await Promise.race([allEncoded, written]);
    const record: SegmentRecord = {
      section: section.record(),
      lostXattrs: encoder.lostXattrs,
      empty: encoder.size === 0,
    };
    this.note(record.lostXattrs);
    this.stats.compressed++;
    this.o.reporter.emit({
      type: 'debug',
      message: `initrd segment ${index} (${section.id}): compressed ${encoder.size} bytes, ${key}`,
    });
    const part = written.then(async (made): Promise<InitrdPart> => {
      const patches = encoder.nlinkPatches().map((p) => ({ offset: p.offset, bytes: nlinkField(p.nlink) }));
      const final =
        patches.length === 0
          ? made
          : await patchMember(member, this.o.compress, layout, patches, this.o.signal).catch((err: unknown) => {
              throw writeError(`${member}.patched`, err);
            });
      return { path: await this.store(member, key, record, final), size: final.size, digest: final.digest };
    });
    part.catch(() => {}); // awaited in order by parts(); avoid an unhandled rejection meanwhile
    this.members.push({ part, empty: record.empty });
  }

  private async cached(key: string): Promise<CachedMember | undefined> {
    if (this.o.cache === undefined || this.cacheBroken) return undefined;
    try {
      return await this.o.cache.get(key);
    } catch {
      return undefined;
    }
  }

  /** Stores the finished member in the section cache when there is one; returns where it is. */
  private async store(member: string, key: string, record: SegmentRecord, made: Made): Promise<string> {
    if (this.o.cache === undefined || this.cacheBroken) return member;
    try {
      return await this.o.cache.put(key, member, record, made);
    } catch {
      this.cacheBroken = true; // e.g. a read-only cache: build without caching
      return member;
    }
  }

  /** Waits until no member is being compressed (after a failure, before the work directory goes). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.pending, ...this.members.map((m) => m.part)]);
  }

  /** Waits for every member; the initrd is their files in order, then the trailer member (and padding). */
  async parts(lastIno: number): Promise<InitrdParts> {
    const parts: InitrdPart[] = [];
    for (const m of this.members) {
      const part = await m.part;
      if (!m.empty) parts.push(part);
    }
    const kind = this.o.compress;
    const member = trailerMember(kind, lastIno);
    const n = parts.reduce((sum, p) => sum + p.size, member.length);
    // LinuxKit's pad4 writer zero-pads the gzip stream to 4 bytes; the kernel and gzip skip zeros at the end.
    const pad = kind === 'gzip' && n % 4 !== 0 ? 4 - (n % 4) : 0;
    return { parts, tail: Buffer.concat([member, Buffer.alloc(pad)]) };
  }
}

/**
 * Makes the members of the segmented initrd of `sections`, asking for each section in turn, and says which
 * files in which order make the initrd (parts.ts writes them). Deterministic: the same sections (keys and
 * entries) and compression give the same bytes, whichever members came from the cache. Work files are left in
 * `opts.workDir` for its owner to remove; the parts live there or in the section cache.
 */
export async function planSegmentedInitrd(
  sections: AsyncIterable<InitrdSection>,
  opts: PlanInitrdOptions,
): Promise<{ stats: SegmentStats; initrd: InitrdParts }> {
  const writer = new SegmentWriter(opts);
  try {
    let index = 0;
    for await (const section of sections) await writer.add(section, index++);
    reportLostXattrs(opts.reporter, writer.lost);
    const initrd = await writer.parts(FIRST_INO + index * INO_SHARE);
    return { stats: writer.stats, initrd };
  } catch (err) {
    await writer.settle();
    throw err;
  }
}

/**
 * Writes the segmented initrd of `sections` to `opts.out` (`planSegmentedInitrd`, then its parts in order).
 * On failure `opts.out` is destroyed. Rejects with `DamagedSegment` when a cached member turned out damaged
 * (then evicted): write it again.
 */
export async function writeSegmentedInitrd(
  sections: AsyncIterable<InitrdSection>,
  opts: SegmentedInitrdOptions,
): Promise<SegmentStats> {
  try {
    const { stats, initrd } = await planSegmentedInitrd(sections, opts);
    await pipeParts(initrd, { evict: evictDamaged(opts.cache) }, opts.out);
    return stats;
  } catch (err) {
    opts.out.destroy();
    throw err;
  }
}
