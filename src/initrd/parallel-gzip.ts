/**
 * pgzip-style gzip (what LinuxKit uses, klauspost/pgzip): the input is cut into fixed 1 MiB blocks, each
 * deflated independently with the previous 32 KiB as preset dictionary and ended by a sync flush, so the
 * concatenation is one valid deflate stream. Blocks are compressed concurrently on the libuv thread pool
 * (Node zlib's async calls) and emitted in order, so the output does not depend on scheduling or the number
 * of cores: same input, same bytes. Header: mtime 0, no name, OS 255, like Go's compress/gzip.
 */
import { promisify } from 'node:util';
import { availableParallelism } from 'node:os';
import { constants, crc32, deflateRaw, type ZlibOptions } from 'node:zlib';

const deflateRawAsync = promisify<Buffer, ZlibOptions, Buffer>(deflateRaw);

export const BLOCK_SIZE = 1 << 20;
const WINDOW = 32 * 1024;

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
  const level = opts.level ?? 6;
  const blockSize = opts.blockSize ?? BLOCK_SIZE;
  const concurrency = Math.max(1, opts.concurrency ?? Math.min(availableParallelism(), 4));
  return async function* gzip(source) {
    yield header(level);
    let crc = 0;
    let size = 0;
    let dictionary: Buffer | undefined;
    const inFlight: Array<Promise<Buffer>> = [];
    const it = blocks(source, blockSize)[Symbol.asyncIterator]();
    let next = await it.next();
    while (next.done !== true) {
      const block = next.value;
      next = await it.next();
      const last = next.done === true;
      crc = crc32(block, crc);
      size += block.length;
      const options: ZlibOptions = {
        level,
        finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
        ...(dictionary ? { dictionary } : {}),
      };
      const pending = deflateRawAsync(block, options);
      pending.catch(() => {}); // awaited in order below; avoid an unhandled rejection while queued
      inFlight.push(pending);
      dictionary =
        block.length >= WINDOW
          ? block.subarray(block.length - WINDOW)
          : Buffer.concat([dictionary ?? Buffer.alloc(0), block]).subarray(-WINDOW);
      if (inFlight.length >= concurrency) yield await (inFlight.shift() as Promise<Buffer>);
    }
    while (inFlight.length > 0) yield await (inFlight.shift() as Promise<Buffer>);
    yield trailer(crc, size);
  };
}
