/**
 * pgzip-style gzip (what LinuxKit uses, klauspost/pgzip): the input is cut into fixed 1 MiB blocks, each
 * deflated independently with the previous 32 KiB as preset dictionary and ended by a sync flush, so the
 * concatenation is one valid deflate stream. Blocks are compressed concurrently on the libuv thread pool
 * (Node zlib's async calls) and emitted in order, so the output does not depend on scheduling or the number
 * of cores: same input, same bytes. Header: mtime 0, no name, OS 255, like Go's compress/gzip.
 */
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { availableParallelism } from 'node:os';
import { constants, crc32, deflateRaw, type ZlibOptions } from 'node:zlib';

const deflateRawAsync = promisify<Buffer, ZlibOptions, Buffer>(deflateRaw);

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
  /** Blocks in flight; does not change the output. Default: cores, at most 4 (the default thread pool). */
  concurrency?: number;
}

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

/** Cuts a byte stream into `size`-byte blocks (the last one shorter, possibly empty). */
async function* blocks(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let have = 0;
  for await (let chunk of source) {
    while (have + chunk.length >= size) {
      const take = size - have;
      parts.push(chunk.subarray(0, take));
      yield Buffer.concat(parts, size);
      chunk = chunk.subarray(take);
      parts = [];
      have = 0;
    }
    if (chunk.length > 0) {
      parts.push(chunk);
      have += chunk.length;
    }
  }
  yield Buffer.concat(parts, have);
}

/**
 * A pipeline stage: gzip of `source`, in order. Rejects on a zlib failure; stops reading `source` when the
 * consumer stops.
 */
export function parallelGzip(
  opts: ParallelGzipOptions = {},
): (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer> {
  const blockSize = opts.blockSize ?? BLOCK_SIZE;
  return (source) => gzipBlocks(blocks(source, blockSize), opts);
}

/**
 * The gzip of the file at `path`, the same bytes as `parallelGzip` of its contents. The file is read straight
 * into a few block buffers that are used again once their block is deflated, so compressing a large file
 * allocates (and leaves the garbage collector) only the compressed output.
 */
export function gzipFile(path: string, opts: ParallelGzipOptions = {}): AsyncGenerator<Buffer> {
  const blockSize = opts.blockSize ?? BLOCK_SIZE;
  const free: ArrayBuffer[] = [];
  async function* read(): AsyncGenerator<Buffer> {
    const fh = await open(path, 'r');
    try {
      for (;;) {
        const buf = free.length > 0 ? Buffer.from(free.pop() as ArrayBuffer) : Buffer.allocUnsafeSlow(blockSize);
        let n = 0;
        for (let r = -1; r !== 0 && n < blockSize; n += r) r = (await fh.read(buf, n, blockSize - n, null)).bytesRead;
        yield buf.subarray(0, n);
        if (n < blockSize) return; // blocks() ends the same way: the last block is short, possibly empty
      }
    } finally {
      await fh.close();
    }
  }
  return gzipBlocks(read(), opts, (block) => free.push(block.buffer as ArrayBuffer));
}

/** Deflates `source`'s blocks concurrently, in order; `release(block)` once a block's bytes are not needed. */
async function* gzipBlocks(
  source: AsyncIterable<Buffer>,
  opts: ParallelGzipOptions,
  release?: (block: Buffer) => void,
): AsyncGenerator<Buffer> {
  const level = opts.level ?? 6;
  const concurrency = Math.max(1, opts.concurrency ?? Math.min(availableParallelism(), 4));
  yield header(level);
  let crc = 0;
  let size = 0;
  let dictionary: Buffer | undefined;
  const inFlight: Array<{ block: Buffer; deflated: Promise<Buffer> }> = [];
  const done = async (): Promise<Buffer> => {
    const { block, deflated } = inFlight.shift() as (typeof inFlight)[number];
    const out = await deflated;
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
    const options: ZlibOptions = {
      level,
      chunkSize: OUT_CHUNK,
      finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
      ...(dictionary ? { dictionary } : {}),
    };
    const deflated = deflateRawAsync(block, options);
    deflated.catch(() => {}); // awaited in order below; avoid an unhandled rejection while queued
    inFlight.push({ block, deflated });
    // A copy: the block's buffer may be used again for a later block.
    dictionary =
      block.length >= WINDOW
        ? Buffer.from(block.subarray(block.length - WINDOW))
        : Buffer.concat([dictionary ?? Buffer.alloc(0), block]).subarray(-WINDOW);
    if (inFlight.length >= concurrency) yield await done();
  }
  while (inFlight.length > 0) yield await done();
  yield trailer(crc, size);
}
