/**
 * pgzip-style gzip (what LinuxKit uses, klauspost/pgzip): the input is cut into fixed 1 MiB blocks, each
 * deflated independently with the previous 32 KiB as preset dictionary and ended by a sync flush, so the
 * concatenation is one valid deflate stream. Blocks are compressed concurrently on the libuv thread pool
 * (Node zlib's async calls) and emitted in order, so the output does not depend on scheduling or the number
 * of cores: same input, same bytes. Header: mtime 0, no name, OS 255, like Go's compress/gzip.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { constants, crc32, deflateRaw, inflateRaw, type ZlibOptions } from 'node:zlib';

const deflateRawAsync = promisify<Buffer, ZlibOptions, Buffer>(deflateRaw);
const inflateRawAsync = promisify<Buffer, ZlibOptions, Buffer>(inflateRaw);

export const BLOCK_SIZE = 1 << 20;
const WINDOW = 32 * 1024;
/**
 * zlib's output chunk per block: a 1 MiB block deflates to at most a few of these, each one trip to the thread
 * pool and back (zlib's default 16 KiB made dozens; 256 KiB took 1 s of CPU off a 10.5 s build, docs/bench.md).
 */
const OUT_CHUNK = 256 * 1024;

export interface ParallelGzipOptions {
  level?: number;
  blockSize?: number;
  /** Blocks in flight; does not change the output. Default: `DEFAULT_CONCURRENCY`. */
  concurrency?: number;
  /**
   * Told of every block in order, once its deflate is emitted: its input length and its deflated length (the
   * layout `patchGzip` needs to change a few bytes of the input afterwards).
   */
  onBlock?: (block: GzipBlock) => void;
}

/** One block of a parallel gzip stream: `raw` input bytes deflated to `deflated` bytes. */
export interface GzipBlock {
  raw: number;
  deflated: number;
}

/**
 * Blocks in flight by default: twice the thread pool's four threads. Node deflates a block in several trips to
 * the pool, each handed back through the main thread, so while the main thread pauses (garbage collection,
 * waiting for a layer's bytes) only blocks already queued keep the cores busy. With 2 in flight (one per core)
 * a warm `data1g` build took 17.5–19.1 s; with 8, 14.6–16.1 s, interleaved on the same kept case, at a few MiB
 * more memory (docs/bench.md).
 */
const DEFAULT_CONCURRENCY = 8;

/** Bytes of the gzip header `parallelGzip` writes (no name, no extra field). */
const HEADER_SIZE = 10;

function header(level: number): Buffer {
  const xfl = level === 9 ? 2 : level === 1 ? 4 : 0;
  return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 0xff]);
}

function trailer(crc: number, size: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(crc >>> 0, 0);
  b.writeUInt32LE(size % 2 ** 32, 4);
  return b;
}

/**
 * Cuts a byte stream into `size`-byte blocks (the last one shorter, possibly empty), copied into buffers from
 * `free` when there are any (`gzipBlocks` gives each one back once its block is deflated), so a long stream
 * allocates a few block buffers, not one per block for the garbage collector. Without `free` every block is a
 * buffer of its own.
 */
export async function* blocks(
  source: AsyncIterable<Buffer>,
  size: number,
  free: ArrayBuffer[] = [],
): AsyncGenerator<Buffer> {
  const take = (): Buffer => (free.length > 0 ? Buffer.from(free.pop() as ArrayBuffer) : Buffer.allocUnsafeSlow(size));
  let block = take();
  let have = 0;
  for await (const chunk of source) {
    for (let at = 0; at < chunk.length;) {
      const n = Math.min(size - have, chunk.length - at);
      chunk.copy(block, have, at, at + n);
      have += n;
      at += n;
      if (have === size) {
        yield block;
        block = take();
        have = 0;
      }
    }
  }
  yield block.subarray(0, have);
}

/**
 * A pipeline stage: gzip of `source`, in order. Rejects on a zlib failure; stops reading `source` when the
 * consumer stops.
 */
export function parallelGzip(
  opts: ParallelGzipOptions = {},
): (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer> {
  const blockSize = opts.blockSize ?? BLOCK_SIZE;
  const free: ArrayBuffer[] = [];
  return (source) =>
    gzipBlocks(blocks(source, blockSize, free), opts, (block) => free.push(block.buffer as ArrayBuffer));
}

/** How a block is deflated: the last one finishes the stream, the others end on a byte boundary (sync flush). */
function blockOptions(level: number, last: boolean, dictionary: Buffer | undefined): ZlibOptions {
  return {
    level,
    chunkSize: OUT_CHUNK,
    finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
    ...(dictionary ? { dictionary } : {}),
  };
}

/** The dictionary of the block after `block`: the last 32 KiB of the input so far (a copy: buffers are reused). */
function nextDictionary(dictionary: Buffer | undefined, block: Buffer): Buffer {
  return block.length >= WINDOW
    ? Buffer.from(block.subarray(block.length - WINDOW))
    : Buffer.concat([dictionary ?? Buffer.alloc(0), block]).subarray(-WINDOW);
}

/** Deflates `source`'s blocks concurrently, in order; `release(block)` once a block's bytes are not needed. */
async function* gzipBlocks(
  source: AsyncIterable<Buffer>,
  opts: ParallelGzipOptions,
  release?: (block: Buffer) => void,
): AsyncGenerator<Buffer> {
  const level = opts.level ?? 6;
  const concurrency = Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY);
  yield header(level);
  let crc = 0;
  let size = 0;
  let dictionary: Buffer | undefined;
  const inFlight: Array<{ block: Buffer; deflated: Promise<Buffer> }> = [];
  const done = async (): Promise<Buffer> => {
    const { block, deflated } = inFlight.shift() as (typeof inFlight)[number];
    const out = await deflated;
    opts.onBlock?.({ raw: block.length, deflated: out.length });
    release?.(block);
    return out;
  };
  const it = source[Symbol.asyncIterator]();
  let next = await it.next();
  while (next.done !== true) {
    const block = next.value;
    next = await it.next();
    const last = next.done === true;
    crc = crc32(block, crc);
    size += block.length;
    const deflated = deflateRawAsync(block, blockOptions(level, last, dictionary));
    deflated.catch(() => {}); // awaited in order below; avoid an unhandled rejection while queued
    inFlight.push({ block, deflated });
    dictionary = nextDictionary(dictionary, block);
    if (inFlight.length >= concurrency) yield await done();
  }
  while (inFlight.length > 0) yield await done();
  yield trailer(crc, size);
}

/** Bytes to write over the input at `offset` (offsets into the uncompressed stream). */
export interface InputPatch {
  offset: number;
  bytes: Buffer;
}

/**
 * Writes to `to` the gzip stream that `parallelGzip` would make of the input of the stream in file `from` with
 * `patches` written over it, given the stream's block layout (`onBlock`, in order) and level: each block is
 * inflated in turn (with the previous block's tail as its dictionary), and only the blocks a patch touches,
 * and a block whose dictionary a patch changed, are deflated again; the others are copied as they are. So
 * a few changed header fields (cpio.ts nlink counts) cost one inflate of the stream, not a second compression
 * or a copy of the input on disk. Returns what `to` got, as the output's sha256 (`sha256:…`) and size.
 */
export async function patchGzip(
  from: string,
  to: string,
  layout: readonly GzipBlock[],
  patches: readonly InputPatch[],
  level: number,
): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  const input = await open(from, 'r');
  const output = await open(to, 'wx');
  try {
    let size = 0;
    const write = async (b: Buffer): Promise<void> => {
      hash.update(b);
      size += b.length;
      await output.write(b, 0, b.length, null);
    };
    await write(header(level));
    let at = HEADER_SIZE;
    let rawAt = 0;
    let crc = 0;
    let oldDictionary: Buffer | undefined;
    let newDictionary: Buffer | undefined;
    for (const [i, b] of layout.entries()) {
      const deflated = Buffer.allocUnsafe(b.deflated);
      const { bytesRead } = await input.read(deflated, 0, b.deflated, at);
      if (bytesRead !== b.deflated) throw new Error(`${from} is shorter than its block layout`);
      at += b.deflated;
      const last = i === layout.length - 1;
      const raw = await inflateRawAsync(deflated, {
        finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
        ...(oldDictionary ? { dictionary: oldDictionary } : {}),
      });
      if (raw.length !== b.raw) throw new Error(`${from}: block ${i} inflates to ${raw.length} bytes, not ${b.raw}`);
      const patched = Buffer.from(raw);
      const again = applyPatches(patched, rawAt, patches) || !sameBytes(oldDictionary, newDictionary);
      await write(again ? await deflateRawAsync(patched, blockOptions(level, last, newDictionary)) : deflated);
      crc = crc32(patched, crc);
      rawAt += raw.length;
      oldDictionary = nextDictionary(oldDictionary, raw);
      newDictionary = nextDictionary(newDictionary, patched);
    }
    await write(trailer(crc, rawAt));
    return { digest: `sha256:${hash.digest('hex')}`, size };
  } finally {
    await input.close();
    await output.close();
  }
}

function sameBytes(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}

/** Writes the parts of `patches` that fall in `block` (which starts at input offset `start`); whether any did. */
export function applyPatches(block: Buffer, start: number, patches: readonly InputPatch[]): boolean {
  let changed = false;
  for (const p of patches) {
    const from = Math.max(p.offset, start);
    const to = Math.min(p.offset + p.bytes.length, start + block.length);
    if (from >= to) continue;
    p.bytes.copy(block, from - start, from - p.offset, to - p.offset);
    changed = true;
  }
  return changed;
}
