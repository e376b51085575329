/**
 * Canonical JSON as Notary signs it (docker/go `canonical/json`, after OLPC Canonical JSON): object keys
 * sorted by their UTF-8 bytes, no white space, integers only, and strings escaped only for `"` and `\`.
 * Signatures in TUF metadata cover `canonicalJson(signed)`, not the bytes the server sent.
 */
import { MobyError } from '../util/errors.ts';

function bad(why: string): MobyError {
  return new MobyError(`Cannot canonicalise trust metadata: ${why}`, { code: 'TRUST' });
}

function encodeString(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Serialises a parsed JSON value canonically; throws (TRUST) on non-integer numbers or non-JSON values. */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return encodeString(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw bad(`the number ${value} is not an integer`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => byUtf8(a, b));
    return `{${entries.map(([k, v]) => `${encodeString(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw bad(`a ${typeof value} is not JSON`);
}
