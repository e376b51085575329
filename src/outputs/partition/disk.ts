/**
 * Lays out a whole disk image file: a sparse file of the requested size, the partition table structures at
 * their offsets and each partition's filesystem image copied to its start sector. No loop devices, no root.
 */
import { open } from 'node:fs/promises';
import { SECTOR } from './mbr.ts';

export interface DiskPiece {
  /** Byte offset in the disk. */
  offset: number;
  /** Bytes to write there, or a file whose whole content is copied there. */
  data: Buffer | { file: string };
}

/** Rounds `bytes` up to a multiple of `unit`. */
export function roundUp(bytes: number, unit: number): number {
  return Math.ceil(bytes / unit) * unit;
}

export const MIB = 1024 * 1024;
export const SECTORS_PER_MIB = MIB / SECTOR;

/**
 * Creates (or truncates) `path` as a sparse file of `sizeBytes` and writes each piece. Zero blocks of copied
 * files are skipped so the result stays sparse. Leaves a partial file on failure (callers write scratch paths).
 */
export async function writeDisk(path: string, sizeBytes: number, pieces: readonly DiskPiece[]): Promise<void> {
  const out = await open(path, 'w');
  try {
    await out.truncate(sizeBytes);
    for (const piece of pieces) {
      if (Buffer.isBuffer(piece.data)) await out.write(piece.data, 0, piece.data.length, piece.offset);
      else await copySparse(piece.data.file, out, piece.offset);
    }
  } finally {
    await out.close();
  }
}

async function copySparse(file: string, out: Awaited<ReturnType<typeof open>>, offset: number): Promise<void> {
  const input = await open(file, 'r');
  const chunk = Buffer.alloc(MIB);
  try {
    for (let pos = 0; ;) {
      const { bytesRead } = await input.read(chunk, 0, chunk.length, pos);
      if (bytesRead === 0) return;
      await writeNonZero(out, chunk.subarray(0, bytesRead), offset + pos);
      pos += bytesRead;
    }
  } finally {
    await input.close();
  }
}

async function writeNonZero(out: Awaited<ReturnType<typeof open>>, data: Buffer, at: number): Promise<void> {
  const block = 4096;
  for (let i = 0; i < data.length; i += block) {
    const part = data.subarray(i, Math.min(i + block, data.length));
    if (part.some((b) => b !== 0)) await out.write(part, 0, part.length, at + i);
  }
}
