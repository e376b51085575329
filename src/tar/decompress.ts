/**
 * Layer decompression chosen by magic bytes (gzip, zstd, or none), the way go-containerregistry peeks: the
 * media type says what to expect, the bytes decide (registries serve mislabelled layers in the wild).
 */
import { Readable } from 'node:stream';
import { createGunzip, createZstdDecompress } from 'node:zlib';

export type Compression = 'gzip' | 'zstd' | 'none';
/**
 * Output chunk size of the decompressors: zlib's default (16 KiB) hands 64 work items per MiB to the thread
 * pool and back; 1 MiB chunks took a warm `data256m` build from 12.3 to 10.5 s of CPU (docs/bench.md).
 */
const CHUNK = 1 << 20;

/** Which compression a stream starting with `head` uses. */
export function sniffCompression(head: Uint8Array): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

async function* replay(first: Buffer, it: AsyncIterator<unknown>): AsyncGenerator<Buffer> {
  let done = false;
  try {
    if (first.length > 0) yield first;
    for (let r = await it.next(); r.done !== true; r = await it.next()) yield r.value as Buffer;
    done = true;
  } finally {
    if (!done) await it.return?.(); // stopped early: let the raw stream close its file/socket
  }
}

/** Reads at least 4 bytes (or to the end) so the magic is visible even with tiny first chunks. */
async function head(it: AsyncIterator<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  while (n < 4) {
    const r = await it.next();
    if (r.done === true) break;
    const b = r.value as Buffer;
    parts.push(b);
    n += b.length;
  }
  return Buffer.concat(parts);
}

/**
 * The uncompressed bytes of `raw`. Errors of `raw` (e.g. DIGEST_MISMATCH at its end) are forwarded to the
 * result; destroying the result stops reading `raw`. The caller drains or destroys the result.
 */
export async function decompressed(raw: Readable): Promise<Readable> {
  const it = raw[Symbol.asyncIterator]();
  const first = await head(it);
  const plain = Readable.from(replay(first, it), { objectMode: false });
  // A generator that never started skips its finally: close the raw stream explicitly too.
  plain.on('close', () => {
    if (!raw.destroyed) raw.destroy();
  });
  const kind = sniffCompression(first);
  if (kind === 'none') return plain;
  const z = kind === 'gzip' ? createGunzip({ chunkSize: CHUNK }) : createZstdDecompress({ chunkSize: CHUNK });
  plain.on('error', (err) => z.destroy(err));
  z.on('close', () => {
    if (!plain.destroyed) plain.destroy();
  });
  return plain.pipe(z);
}
