/**
 * GUIDs as GPT stores them (mixed endian) and GUIDs derived from content, so that two builds of the same
 * inputs get the same disk and partition GUIDs (reproducibility) while different contents get different ones.
 */
import { createHash } from 'node:crypto';

/** A version-4-shaped GUID whose bits come from SHA-256 of `parts`, as the canonical lowercase string. */
export function derivedGuid(...parts: ReadonlyArray<string | Buffer>): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? Buffer.from(p) : p).update('\0');
  const b = h.digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const x = b.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** The 16 on-disk bytes of a GUID string: first three fields little endian, the rest as written. */
export function guidBytes(guid: string): Buffer {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(guid);
  if (m === null) throw new RangeError(`not a GUID: "${guid}"`);
  const le = (hex: string) => Buffer.from(hex, 'hex').reverse();
  return Buffer.concat([le(m[1]!), le(m[2]!), le(m[3]!), Buffer.from(m[4]! + m[5]!, 'hex')]);
}
