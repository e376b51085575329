/**
 * Finds the config a kernel carries inside itself (CONFIG_IKCONFIG): the gzip data between the `IKCFG_ST` and
 * `IKCFG_ED` markers, directly in an uncompressed kernel (vmlinux, arm64 `Image`) or inside a compressed one:
 * an x86 bzImage's payload, an arm64 `Image.gz` (a plain gzip file) or an EFI zboot image's payload
 * (docs/formats.md#arm64). gzip and zstd are decompressed in-process, xz through the `xz` tool; a zboot payload
 * compressed otherwise gives a note saying the config cannot be read. The kernel is small enough to buffer.
 * What a kernel holds depends only on its bytes, so a build keeps the answer in the cache directory
 * (`embeddedConfigFactOf`, pipeline/execute.ts): a build whose kernel did not change does not read it again.
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

/** What searching a kernel found, and whether any host would find the same (`lasting`). */
export interface EmbeddedConfigFinding {
  found: EmbeddedConfig;
  /**
   * False when the answer may differ on another host: the `xz` tool was needed and failed (it may be missing
   * here). Only a lasting answer is kept between builds.
   */
  lasting: boolean;
}

const memo = new Map<string, EmbeddedConfigFinding>();

function memoKey(kernelPath: string): string {
  const st = statSync(kernelPath);
  return `${kernelPath}\0${st.size}\0${st.mtimeMs}`;
}

/**
 * The config text embedded in the kernel file, or undefined when there is none (or it cannot be read).
 * Remembered per path, size and mtime, since several formats of one build ask about the same kernel.
 */
export function embeddedConfig(kernelPath: string): string | undefined {
  return readEmbeddedConfig(kernelPath).text;
}

/** As `embeddedConfig`, with a note when the kernel is a form whose config cannot be read. */
export function readEmbeddedConfig(kernelPath: string): EmbeddedConfig {
  return findEmbeddedConfig(kernelPath).found;
}

/** As `readEmbeddedConfig`, saying whether the answer may be kept between builds. */
export function findEmbeddedConfig(kernelPath: string): EmbeddedConfigFinding {
  const key = memoKey(kernelPath);
  const known = memo.get(key);
  if (known !== undefined) return known;
  const finding = search(readFileSync(kernelPath));
  memo.set(key, finding);
  return finding;
}

/**
 * Notes `found` as what the kernel file at `kernelPath` holds, as an earlier build found it in the same kernel
 * (kept in the cache): the kernel check and the formats that ask later in this build then do not read it.
 */
export function rememberEmbeddedConfig(kernelPath: string, found: EmbeddedConfig): void {
  memo.set(memoKey(kernelPath), { found, lasting: true });
}

/**
 * Identifies the embedded config of the kernel `binary` of the image whose manifest digest is `digest`, as
 * the build had it (`decompress`: `--decompress-kernel`): with the image they determine the kernel's bytes.
 * Bump `v` when what `search` finds changes (a kernel form it learns to read), so older answers are not used.
 */
export function embeddedConfigFactOf(digest: string, binary: string, decompress: boolean): Record<string, unknown> {
  return { fact: 'embedded-config', v: 1, digest, binary, decompress };
}

/** `value` as a kept `EmbeddedConfig`, or undefined when it is not one (then the kernel is read again). */
export function asEmbeddedConfig(value: unknown): EmbeddedConfig | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { text, note, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return undefined;
  if (text !== undefined && typeof text !== 'string') return undefined;
  if (note !== undefined && typeof note !== 'string') return undefined;
  return { ...(text === undefined ? {} : { text }), ...(note === undefined ? {} : { note }) };
}

/** Set when a decompression needed a tool that failed: the answer then depends on this host. */
interface HostTrouble {
  toolFailed: boolean;
}

function search(image: Buffer): EmbeddedConfigFinding {
  const direct = findIkconfig(image);
  if (direct !== undefined) return { found: { text: direct }, lasting: true };
  const zboot = zbootPayload(image);
  if (zboot !== undefined && !ZBOOT_READABLE.has(zboot.compression)) {
    return {
      found: {
        note: `the kernel is an EFI zboot image compressed with ${zboot.compression || 'an unnamed method'}: mobyts reads the embedded config of gzip, zstd and xz ones only`,
      },
      lasting: true,
    };
  }
  const trouble: HostTrouble = { toolFailed: false };
  const text = findIkconfig(payloadOf(image, trouble));
  return { found: text === undefined ? {} : { text }, lasting: !trouble.toolFailed };
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
  return payloadOf(image, { toolFailed: false });
}

function payloadOf(image: Buffer, trouble: HostTrouble): Buffer | undefined {
  const zboot = zbootPayload(image);
  if (zboot !== undefined)
    return ZBOOT_READABLE.has(zboot.compression) ? decompress(zboot.payload, trouble) : undefined;
  if (image[0] === 0x1f && image[1] === 0x8b) return decompress(image, trouble);
  const payload = bzImagePayload(image);
  return payload === undefined ? undefined : decompress(payload, trouble);
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

function decompress(p: Buffer, trouble: HostTrouble): Buffer | undefined {
  try {
    if (p[0] === 0x1f && p[1] === 0x8b) return gunzipSync(p);
    if (p.readUInt32LE(0) === 0xfd2fb528) return zstdFrame(p);
    if (p.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) {
      const out = runToolSync(TOOLS.xz, ['-dc', '--single-stream'], p);
      if (out === undefined) trouble.toolFailed = true;
      return out;
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
