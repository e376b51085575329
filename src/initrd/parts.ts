/**
 * An initrd as the files it is made of (docs/formats.md, "Writing the initrd"): the compressed members in order,
 * each with the size and digest its bytes must have, then a tail (the trailer member and padding). The segment
 * writer (segments.ts) says what the parts are; this module writes them.
 *
 * Writing an output (`writeParts`) starts from what the destination already holds: a previous build's output
 * whose first members are the ones this build would write (checked against their digests, read once) is
 * copied by the kernel (`copyFile`), cut after the last matching member, and only the members after it are
 * appended; when every byte already matches, the file is kept as it is and only its times are set, as a write
 * would. A rebuild after a change to one late section (a `files:` entry) then writes what changed, and a build
 * with nothing changed writes nothing. Members reused from the section cache are checked against their digest
 * as they are copied; one that does not match is evicted and DamagedSegment thrown, so that the initrd is
 * planned once more without it. Nothing unchecked is shipped.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type BigIntStats } from 'node:fs';
import { chmod, copyFile, open, stat, truncate, utimes } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { digestOfFile } from '../oci/digest.ts';
import type { OutputLayouts } from '../store/output-layouts.ts';
import { writeAtomically } from '../util/atomic.ts';
import { identityOf } from '../util/file-identity.ts';

export interface InitrdPart {
  path: string;
  size: number;
  /** `sha256:…` of the part's bytes. */
  digest: string;
  /**
   * Set for a member reused from the section cache: its bytes are checked while they are read, and the entry
   * `cacheKey` is evicted when they do not match. Parts made by this build are not read twice.
   */
  cacheKey?: string;
}

export interface InitrdParts {
  parts: InitrdPart[];
  /** Bytes after the last part: the trailer member and the padding. */
  tail: Buffer;
}

/**
 * A cached member did not match its digest while it was copied into the initrd: the entry is evicted and the
 * initrd must be planned once more (its sections made anew for the damaged member). Nothing was shipped.
 */
export class DamagedSegment extends Error {
  constructor(key: string) {
    super(`the section cache entry ${key.slice(0, 12)} does not match its digest`);
    this.name = 'DamagedSegment';
  }
}

/** Evicts a section cache entry whose member did not match its digest (best effort). */
export type Evict = (key: string) => Promise<void>;

export interface WritePartsOptions {
  evict?: Evict;
  signal?: AbortSignal;
  /**
   * What the last build wrote into each output (store/output-layouts.ts): a destination still the file that
   * was recorded is known member by member without being read.
   */
  layouts?: OutputLayouts;
}

const PIECE = 1 << 20;

/** The parts' bytes in order, then the tail; cached parts checked (DamagedSegment after evicting). */
export async function* partBytes(initrd: InitrdParts, opts: WritePartsOptions = {}, from = 0): AsyncGenerator<Buffer> {
  for (const part of initrd.parts.slice(from)) {
    const hash = part.cacheKey === undefined ? undefined : createHash('sha256');
    for await (const c of createReadStream(part.path, { highWaterMark: PIECE })) {
      hash?.update(c as Buffer);
      yield c as Buffer;
    }
    if (hash === undefined || part.cacheKey === undefined || `sha256:${hash.digest('hex')}` === part.digest) continue;
    await opts.evict?.(part.cacheKey).catch(() => {});
    throw new DamagedSegment(part.cacheKey);
  }
  if (initrd.tail.length > 0) yield initrd.tail;
}

/** How much of an existing file already holds the parts' bytes. */
interface Held {
  /** Parts found whole at their place, from the first. */
  parts: number;
  /** Their bytes. */
  bytes: number;
  /** The whole file is exactly the parts and the tail. */
  all: boolean;
  /** The file as it was read (to tell whether it changed before it was copied). */
  stats: BigIntStats;
  /** Known from the last build's record of the file, not read. */
  recorded: boolean;
}

const tailDigest = (tail: Buffer): string => `sha256:${createHash('sha256').update(tail).digest('hex')}`;

/**
 * What `dest` holds according to the last build's record (`layouts`), when it is still the file recorded;
 * undefined when there is no record or the file changed since.
 */
async function heldByRecord(
  dest: string,
  initrd: InitrdParts,
  layouts: OutputLayouts | undefined,
): Promise<Held | undefined> {
  const layout = await layouts?.get(dest);
  if (layout === undefined) return undefined;
  const stats = await stat(dest, { bigint: true }).catch(() => undefined);
  if (stats === undefined || !stats.isFile() || identityOf(stats) !== layout.identity) return undefined;
  let parts = 0;
  let bytes = 0;
  for (const [i, part] of initrd.parts.entries()) {
    const was = layout.parts[i];
    if (was?.size !== part.size || was.digest !== part.digest) break;
    parts++;
    bytes += part.size;
  }
  const all = parts === initrd.parts.length && parts === layout.parts.length && layout.tail === tailDigest(initrd.tail);
  return { parts, bytes, all, stats, recorded: true };
}

/**
 * Reads `path` (a previous output) once, hashing it part by part until a part does not match; undefined when
 * it is not a regular file or does not exist. One buffer is reused for every read.
 */
async function heldBy(path: string, initrd: InitrdParts, signal?: AbortSignal): Promise<Held | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const stats = await fh.stat({ bigint: true });
    if (!stats.isFile()) return undefined;
    const size = Number(stats.size);
    const buf = Buffer.allocUnsafe(PIECE);
    let at = 0;
    let parts = 0;
    for (const part of initrd.parts) {
      if (at + part.size > size) break;
      const hash = createHash('sha256');
      for (let done = 0; done < part.size;) {
        signal?.throwIfAborted();
        const { bytesRead } = await fh.read(buf, 0, Math.min(PIECE, part.size - done), at + done);
        if (bytesRead === 0) break;
        hash.update(buf.subarray(0, bytesRead));
        done += bytesRead;
      }
      if (`sha256:${hash.digest('hex')}` !== part.digest) break;
      at += part.size;
      parts++;
    }
    let all = false;
    if (parts === initrd.parts.length && size === at + initrd.tail.length) {
      const { bytesRead } = await fh.read(buf, 0, initrd.tail.length, at);
      all = buf.subarray(0, bytesRead).equals(initrd.tail);
    }
    return { parts, bytes: at, all, stats, recorded: false };
  } finally {
    await fh.close();
  }
}

/**
 * What `writeParts` did: kept `dest` as it was, reused a prefix of it, or wrote every part; `recorded`: what
 * `dest` held was known from the last build's record, not read.
 */
export type PartsWritten = { recorded: boolean } & HeldWritten;

/** What writing over what `dest` held did (`writeHeld`). */
type HeldWritten = { kept: true } | Rewritten;
type Rewritten = { kept: false; reusedParts: number; reusedBytes: number };

/**
 * Writes the initrd `initrd` to `dest` atomically (mode 0644), starting from what `dest` already holds (module
 * comment). `whole`, when given, is a file already holding exactly the parts and the tail (the work copy),
 * copied by the kernel instead of the parts being read.
 */
export async function writeParts(
  dest: string,
  initrd: InitrdParts,
  opts: WritePartsOptions & { whole?: string } = {},
): Promise<PartsWritten> {
  const held = (await heldByRecord(dest, initrd, opts.layouts)) ?? (await heldBy(dest, initrd, opts.signal));
  const recorded = held?.recorded === true;
  const written = await writeHeld(dest, initrd, held, opts);
  // what the file now holds, for the next build (best effort: without it, that build reads the file)
  if (opts.layouts !== undefined)
    await opts.layouts.put(dest, {
      identity: identityOf(await stat(dest, { bigint: true })),
      parts: initrd.parts.map((p) => ({ size: p.size, digest: p.digest })),
      tail: tailDigest(initrd.tail),
    });
  return { ...written, recorded };
}

async function writeHeld(
  dest: string,
  initrd: InitrdParts,
  held: Held | undefined,
  opts: WritePartsOptions & { whole?: string },
): Promise<HeldWritten> {
  if (held?.all === true) {
    // The same bytes: set the times a write would have (a Makefile compares them), and the mode.
    const now = new Date();
    await utimes(dest, now, now);
    if (Number(held.stats.mode & 0o7777n) !== 0o644) await chmod(dest, 0o644);
    return { kept: true };
  }
  // Copying a previous output pays for its whole length: worth it when most of it is kept.
  const reuse = held !== undefined && held.parts > 0 && held.bytes * 2 >= Number(held.stats.size) ? held : undefined;
  let result: Rewritten = { kept: false, reusedParts: 0, reusedBytes: 0 };
  await writeAtomically(dest, async (tmp) => {
    if (reuse !== undefined) {
      await copyFile(dest, tmp);
      // Still the file that was read: the copy holds the bytes that were checked.
      if (identityOf(reuse.stats) === identityOf(await stat(dest, { bigint: true }))) {
        await truncate(tmp, reuse.bytes);
        await pipeParts(initrd, opts, createWriteStream(tmp, { flags: 'r+', start: reuse.bytes }), reuse.parts);
        result = { kept: false, reusedParts: reuse.parts, reusedBytes: reuse.bytes };
        return;
      }
    }
    if (opts.whole !== undefined) return copyFile(opts.whole, tmp);
    await pipeParts(initrd, opts, createWriteStream(tmp));
  });
  return result;
}

/** `initrd` preceded by the files `before` (the microcode cpio), each read once for its size and digest. */
export async function withBefore(before: readonly string[], initrd: InitrdParts): Promise<InitrdParts> {
  if (before.length === 0) return initrd;
  const first = await Promise.all(before.map(async (path) => ({ path, ...(await digestOfFile(path)) })));
  return { parts: [...first, ...initrd.parts], tail: initrd.tail };
}

/** Writes the parts of `initrd` from part `from` on, and its tail, to `out` (ended when done). */
export async function pipeParts(initrd: InitrdParts, opts: WritePartsOptions, out: Writable, from = 0): Promise<void> {
  await pipeline(
    Readable.from(partBytes(initrd, opts, from)),
    out,
    opts.signal === undefined ? {} : { signal: opts.signal },
  );
}
