/**
 * `--decompress-kernel` (docs/linuxkit-behaviour.md#kernel-section): turns a compressed kernel into the uncompressed
 * image some hypervisors (Firecracker, …) boot. LinuxKit handles a gzip file and an x86 bzImage (boot protocol ≥ 2.08)
 * with a gzip payload; we also handle bzImage payloads compressed with zstd, xz and lz4.
 *
 * gzip and zstd run in-process (Node zlib). xz and lz4 have no Node binding: they are piped through the
 * declared `xz`/`lz4` tools (src/tools/).
 */
import { runToolFilter } from '../tools/run-tool.ts';
import { TOOLS } from '../tools/catalog.ts';
import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { MobyError } from '../util/errors.ts';

export type KernelPayload = 'gzip' | 'zstd' | 'xz' | 'lz4' | 'bzip2' | 'lzma' | 'lzo' | 'unknown';

const MAGICS: Array<[KernelPayload, number[]]> = [
  ['gzip', [0x1f, 0x8b]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['lz4', [0x02, 0x21, 0x4c, 0x18]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['lzo', [0x89, 0x4c, 0x5a, 0x4f]],
  ['lzma', [0x5d, 0x00, 0x00]],
];

export function payloadKind(b: Buffer): KernelPayload {
  for (const [kind, magic] of MAGICS) if (magic.every((m, i) => b[i] === m)) return kind;
  return 'unknown';
}

/**
 * The compressed payload of an x86 bzImage (Documentation/arch/x86/boot.rst: `HdrS` at 0x202, protocol
 * ≥ 2.08, payload_offset/payload_length at 0x248/0x24c, relative to the protected-mode code at
 * (setup_sects+1)·512), or undefined when `kernel` is not such a bzImage.
 */
export function bzImagePayload(kernel: Buffer): Buffer | undefined {
  if (kernel.length < 0x250 || kernel.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
  if (kernel.readUInt16LE(0x206) < 0x208) return undefined;
  const setupSects = kernel[0x1f1] || 4;
  const start = (setupSects + 1) * 512 + kernel.readUInt32LE(0x248);
  const end = start + kernel.readUInt32LE(0x24c);
  return end <= kernel.length ? kernel.subarray(start, end) : undefined;
}

function unsupported(detail: string): MobyError {
  return new MobyError(`Cannot decompress the kernel: ${detail}`, {
    code: 'BUILD',
    hint: 'drop --decompress-kernel, or use a kernel compressed with gzip, zstd, xz or lz4',
  });
}

/** Strips the 4-byte uncompressed size Linux appends to every payload format except gzip (`*_with_size`). */
function withoutSize(payload: Buffer): Buffer {
  return payload.subarray(0, Math.max(payload.length - 4, 0));
}

async function decompressPayload(kind: KernelPayload, payload: Buffer): Promise<Buffer> {
  switch (kind) {
    case 'gzip':
      return gunzipSync(payload);
    case 'zstd':
      return zstdDecompressSync(withoutSize(payload));
    case 'xz':
      return runToolFilter(TOOLS.xz, ['-dc', '--single-stream'], payload);
    case 'lz4':
      return runToolFilter(TOOLS.lz4, ['-dc'], withoutSize(payload));
    default:
      throw unsupported(
        `its payload is ${kind === 'unknown' ? 'in an unknown format' : `compressed with ${kind}`}, which is not supported`,
      );
  }
}

/**
 * The uncompressed kernel: a gzip file is gunzipped (arm64 `Image.gz`), a bzImage's payload is extracted and
 * decompressed (the result is the `vmlinux` ELF). Anything else → MobyError BUILD. Pure apart from the xz/lz4
 * child processes.
 */
export async function decompressKernel(kernel: Buffer): Promise<Buffer> {
  if (payloadKind(kernel) === 'gzip') return gunzipSync(kernel);
  const payload = bzImagePayload(kernel);
  if (payload === undefined)
    throw unsupported('it is neither gzip-compressed nor an x86 bzImage (boot protocol 2.08 or later)');
  return decompressPayload(payloadKind(payload), payload);
}
