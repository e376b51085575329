/**
 * Finds the config a kernel carries inside itself (CONFIG_IKCONFIG): the gzip data between the `IKCFG_ST` and
 * `IKCFG_ED` markers, directly in an uncompressed kernel (vmlinux, arm64 `Image`) or inside a compressed one:
 * an x86 bzImage's payload, an arm64 `Image.gz` (a plain gzip file) or an EFI zboot image's payload
 * (docs/formats.md#arm64). gzip and zstd are decompressed in-process, xz through the `xz` tool; a zboot payload
 * compressed otherwise gives a note saying the config cannot be read. The kernel is small enough to buffer.
 */
import { readFileSync, statSync } from 'node:fs';
import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { TOOLS } from '../tools/catalog.ts';
import { runToolSync } from '../tools/run-tool.ts';
import { bzImagePayload } from '../initrd/decompress-kernel.ts';

const START = Buffer.from('IKCFG_ST');
const END = Buffer.from('IKCFG_ED');

/** What reading a kernel's embedded config found: the text, or a note when the kernel's form hides it. */
export interface EmbeddedConfig {
  text?: string;
  /** Why the config cannot be read although the kernel may carry one (a zboot payload we cannot decompress). */
  note?: string;
}

const memo = new Map<string, EmbeddedConfig>();

/**
 * The config text embedded in the kernel file, or undefined when there is none (or it cannot be read).
 * Remembered per path, size and mtime, since several formats of one build ask about the same kernel.
 */
export function embeddedConfig(kernelPath: string): string | undefined {
  return readEmbeddedConfig(kernelPath).text;
}

/** As `embeddedConfig`, with a note when the kernel is a form whose config cannot be read. */
export function readEmbeddedConfig(kernelPath: string): EmbeddedConfig {
  const st = statSync(kernelPath);
  const key = `${kernelPath}\0${st.size}\0${st.mtimeMs}`;
  const known = memo.get(key);
  if (known !== undefined) return known;
  const found = search(readFileSync(kernelPath));
  memo.set(key, found);
  return found;
}

function search(image: Buffer): EmbeddedConfig {
  const direct = findIkconfig(image);
  if (direct !== undefined) return { text: direct };
  const zboot = zbootPayload(image);
  if (zboot !== undefined && !ZBOOT_READABLE.has(zboot.compression)) {
    return {
      note: `the kernel is an EFI zboot image compressed with ${zboot.compression || 'an unnamed method'}: mobyts reads the embedded config of gzip, zstd and xz ones only`,
    };
  }
  const text = findIkconfig(decompressedPayload(image));
  return text === undefined ? {} : { text };
}

/** The IKCONFIG text inside an uncompressed blob, if any. */
export function findIkconfig(blob: Buffer | undefined): string | undefined {
  if (blob === undefined) return undefined;
  const start = blob.indexOf(START);
  if (start < 0) return undefined;
  const end = blob.indexOf(END, start + START.length);
  if (end < 0) return undefined;
  try {
    return gunzipSync(blob.subarray(start + START.length, end)).toString('utf8');
  } catch {
    return undefined;
  }
}

/**
 * The uncompressed kernel inside a compressed one, or undefined: a bzImage's payload (gzip, zstd or xz), a
 * zboot image's payload (gzip, zstd or xz), or a whole gzip file (`Image.gz`).
 */
export function decompressedPayload(image: Buffer): Buffer | undefined {
  const zboot = zbootPayload(image);
  if (zboot !== undefined) return ZBOOT_READABLE.has(zboot.compression) ? decompress(zboot.payload) : undefined;
  if (image[0] === 0x1f && image[1] === 0x8b) return decompress(image);
  const payload = bzImagePayload(image);
  return payload === undefined ? undefined : decompress(payload);
}

/** The compression names a zboot header may carry that `decompress` reads (older kernels say `zstd22`). */
const ZBOOT_READABLE = new Set(['gzip', 'zstd', 'zstd22', 'xzkern']);

/**
 * An EFI zboot image's compressed payload and the name of its compression, or undefined when `image` is not
 * one. Its header (docs/formats.md#arm64): `MZ` at 0, `zimg` at 4, then little-endian 32-bit words for the
 * payload's offset (8) and size (12, without the 4-byte size the kernel appends to all but gzip), and at 24
 * the compression's name, NUL-terminated (it ends before 0x38).
 */
export function zbootPayload(image: Buffer): { payload: Buffer; compression: string } | undefined {
  if (image.length < 0x40 || image.toString('latin1', 0, 2) !== 'MZ' || image.toString('latin1', 4, 8) !== 'zimg') {
    return undefined;
  }
  const offset = image.readUInt32LE(8);
  const end = offset + image.readUInt32LE(12);
  if (offset < 0x40 || end > image.length) return undefined;
  const name = image.subarray(24, 0x38);
  const nul = name.indexOf(0);
  return {
    payload: image.subarray(offset, end),
    compression: name.toString('latin1', 0, nul < 0 ? name.length : nul),
  };
}

function decompress(p: Buffer): Buffer | undefined {
  try {
    if (p[0] === 0x1f && p[1] === 0x8b) return gunzipSync(p);
    if (p.readUInt32LE(0) === 0xfd2fb528) return zstdFrame(p);
    if (p.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) {
      return runToolSync(TOOLS.xz, ['-dc', '--single-stream'], p);
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** The kernel appends the 4-byte decompressed size after the zstd frame. */
function zstdFrame(p: Buffer): Buffer {
  try {
    return zstdDecompressSync(p);
  } catch {
    return zstdDecompressSync(p.subarray(0, p.length - 4));
  }
}
