/**
 * The initrd writer (docs/linuxkit-behaviour.md#initrd; `kernel+initrd` in docs/formats.md): the OS entry stream minus
 * `boot/*` as a newc cpio, compressed (gzip or zstd, deterministic), with the microcode cpio prepended uncompressed.
 *
 * `boot/kernel`, `boot/cmdline` and `boot/ucode.cpio` are captured and returned (the kernel and ucode are
 * the only contents held in memory); everything else under `boot/` is skipped, the `boot` directory entry
 * itself is kept. The cpio is kept in memory (so hardlink nlink counts can be patched in, see cpio.ts), then
 * compressed into `out`, fed in fixed 64 KiB pieces (zstd's output depends on how its input is cut): no
 * temporary file. This writer is for small entry sets — the loader initrd of the squashfs, erofs and ISO formats
 * (outputs/loader-initrd.ts), whose files are in memory already; a build's initrd is written in one pass, member
 * by member, with no cpio at all (segments.ts).
 */
import { readFile } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createZstdCompress } from 'node:zlib';
import type { Reporter } from '../util/reporter.ts';
import type { EntryStream, TarEntry } from '../tar/entry.ts';
import { NewcEncoder, nlinkField } from './cpio.ts';
import { parallelGzip } from './parallel-gzip.ts';

export type InitrdCompression = 'gzip' | 'zstd' | 'none';

export interface InitrdOptions {
  compress: InitrdCompression;
  /** Receives ucode ‖ compressed cpio; ended when done, destroyed on failure. */
  out: Writable;
  /**
   * A microcode cpio file to prepend instead of the stream's `boot/ucode.cpio`. Set `prependUcode: false`
   * to write the initrd without any ucode (tar-kernel-initrd ships it as a separate file).
   */
  ucode?: string;
  prependUcode?: boolean;
  /** Receives the lost-xattrs warning: required, so no warning is emitted into nothing. */
  reporter: Reporter;
}

export interface InitrdResult {
  kernel?: Buffer;
  cmdline?: string;
  ucode?: Buffer;
}

/**
 * Gzip level 6 in 1 MiB parallel blocks (LinuxKit's pgzip settings; parallel-gzip.ts); zstd level 3 (zstd's
 * default). Pinned for reproducibility.
 */
const GZIP_LEVEL = 6;
const ZSTD_LEVEL = 3;

async function collect(body: AsyncIterable<Buffer> | undefined): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body ?? []) parts.push(c);
  return Buffer.concat(parts);
}

/** Captures the three boot files into `result`, drops the rest of `boot/`, passes everything else on. */
async function* splitBoot(entries: EntryStream, result: InitrdResult): AsyncGenerator<TarEntry> {
  for await (const e of entries) {
    const name = e.header.name;
    if (!name.startsWith('boot/')) {
      yield e;
      continue;
    }
    const body = e.body as AsyncIterable<Buffer> | undefined;
    if (name === 'boot/kernel' && e.header.type === 'file') result.kernel = await collect(body);
    else if (name === 'boot/cmdline' && e.header.type === 'file')
      result.cmdline = (await collect(body)).toString('utf8');
    else if (name === 'boot/ucode.cpio' && e.header.type === 'file') result.ucode = await collect(body);
    else await collect(body); // drain: skipped, but the producer may need the body consumed
  }
}

type Head = (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>;

/** cpio file → compressor → `head` (prepends the ucode) → out, with errors and teardown propagated. */
async function compressInto(cpio: Readable, c: { kind: InitrdCompression; head: Head; out: Writable }): Promise<void> {
  if (c.kind === 'gzip') await pipeline(cpio, parallelGzip({ level: GZIP_LEVEL }), c.head, c.out);
  else if (c.kind === 'zstd')
    await pipeline(
      cpio,
      createZstdCompress({ params: { [constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL } }),
      c.head,
      c.out,
    );
  else await pipeline(cpio, c.head, c.out);
}

async function prependUcode(opts: InitrdOptions, result: InitrdResult): Promise<Buffer | undefined> {
  if (opts.prependUcode === false) return undefined;
  return opts.ucode === undefined ? result.ucode : readFile(opts.ucode);
}

/**
 * Writes the initrd of `entries` to `opts.out` and returns the captured boot files. Drains `entries`.
 * Deterministic: the same entries and options give the same bytes (with the same Node zlib build).
 * On failure `opts.out` is destroyed; the promise rejects with the cause
 * (MobyError BUILD for content newc cannot hold).
 */
export async function writeInitrd(entries: EntryStream, opts: InitrdOptions): Promise<InitrdResult> {
  const result: InitrdResult = {};
  const encoder = new NewcEncoder();
  const parts: Buffer[] = [];
  try {
    for await (const piece of encoder.bytes(splitBoot(entries, result))) parts.push(piece);
  } catch (err) {
    opts.out.destroy(); // without the error: the caller gets it from the promise, not as an 'error' event
    throw err;
  }
  encoder.reportLostXattrs(opts.reporter);
  const cpio = Buffer.concat(parts);
  parts.length = 0;
  for (const p of encoder.nlinkPatches()) nlinkField(p.nlink).copy(cpio, p.offset);
  const ucode = await prependUcode(opts, result);
  const padTo4 = opts.compress === 'gzip';
  const withUcode = async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    if (ucode !== undefined && ucode.length > 0) yield ucode;
    let n = 0;
    for await (const c of source) {
      n += c.length;
      yield c;
    }
    // LinuxKit's pad4 writer zero-pads the gzip stream to 4 bytes; the kernel and gzip skip zeros (zstd does not).
    if (padTo4 && n % 4 !== 0) yield Buffer.alloc(4 - (n % 4));
  };
  await compressInto(Readable.from(pieces(cpio, PIECE)), { kind: opts.compress, head: withUcode, out: opts.out });
  return result;
}

/** The size of the pieces the compressor is fed (what a file read stream hands out). */
const PIECE = 64 << 10;

function* pieces(b: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < b.length; at += size) yield b.subarray(at, at + size);
}
