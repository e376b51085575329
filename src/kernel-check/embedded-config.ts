/**
 * Finds the config a kernel carries inside itself (CONFIG_IKCONFIG): the gzip data between the `IKCFG_ST` and
 * `IKCFG_ED` markers, either directly in an uncompressed vmlinux or inside a bzImage's compressed payload
 * (gzip and zstd decompressed in-process, xz through the `xz` tool). The kernel is small enough to buffer.
 */
import { readFileSync, statSync } from 'node:fs';
import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { TOOLS } from '../tools/catalog.ts';
import { runToolSync } from '../tools/run-tool.ts';
import { bzImagePayload } from '../initrd/decompress-kernel.ts';

const START = Buffer.from('IKCFG_ST');
const END = Buffer.from('IKCFG_ED');

const memo = new Map<string, string | undefined>();

/**
 * The config text embedded in the kernel file, or undefined when there is none (or it cannot be read).
 * Remembered per path, size and mtime, since several formats of one build ask about the same kernel.
 */
export function embeddedConfig(kernelPath: string): string | undefined {
  const st = statSync(kernelPath);
  const key = `${kernelPath}\0${st.size}\0${st.mtimeMs}`;
  if (memo.has(key)) return memo.get(key);
  const image = readFileSync(kernelPath);
  const text = findIkconfig(image) ?? findIkconfig(decompressedPayload(image));
  memo.set(key, text);
  return text;
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

/** The decompressed payload of a bzImage (gzip, zstd or xz), or undefined. */
export function decompressedPayload(image: Buffer): Buffer | undefined {
  const payload = bzImagePayload(image);
  return payload === undefined ? undefined : decompress(payload);
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
