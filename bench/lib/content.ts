/**
 * Deterministic file contents for the bench inputs. Contents are slices of one pool made of 4 KiB blocks,
 * alternately AES-CTR pseudo-random bytes (incompressible) and text (very compressible), so gzip shrinks
 * file data to roughly half, like typical binaries and libraries; the same seed gives the same bytes.
 */
import { createCipheriv, createHash } from 'node:crypto';

const BLOCK = 4096;
const TEXT = Buffer.from('#!/bin/sh\n# mobyts bench: a shell script, a man page, an ELF string table... '.repeat(64));

/** `size` pseudo-random bytes from `seed` (AES-128-CTR over zeros: fast and reproducible). */
export function randomBytesFrom(seed: string, size: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]).subarray(0, size);
}

/** A pool of `size` bytes (a multiple of 4 KiB): random and text blocks alternating. */
export function contentPool(size: number): Buffer {
  const pool = randomBytesFrom('pool', size);
  for (let off = BLOCK; off < size; off += 2 * BLOCK) TEXT.copy(pool, off, 0, Math.min(BLOCK, size - off));
  return pool;
}

/** A stable 32-bit hash of `s` (FNV-1a), used to pick pool offsets. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** `size` bytes of file content for `name`: a pool slice at a name-derived offset (repeated if larger than the pool). */
export function fileContent(pool: Buffer, name: string, size: number): Buffer {
  if (size <= pool.length) {
    const start = hash32(name) % (pool.length - size + 1);
    return pool.subarray(start, start + size);
  }
  const out = Buffer.allocUnsafe(size);
  for (let off = 0; off < size; off += pool.length) pool.copy(out, off, 0, Math.min(pool.length, size - off));
  return out;
}
