/**
 * Content digests (OCI image spec, descriptor.md "Digests"). A Digest value exists only after parseDigest
 * or digestOf accepted it, so code holding one may trust its form (not its content: verify while reading).
 */
import type * as Crypto from 'node:crypto';
import { MobyError } from '../util/errors.ts';

declare const digestBrand: unique symbol;
export type Digest = string & { readonly [digestBrand]: true };

const FORMS: Record<string, RegExp> = {
  sha256: /^sha256:[a-f0-9]{64}$/,
  sha512: /^sha512:[a-f0-9]{128}$/,
};

/** True when `s` is a well-formed sha256/sha512 digest; never throws. */
export function isDigest(s: string): s is Digest {
  const algorithm = s.slice(0, s.indexOf(':'));
  return FORMS[algorithm]?.test(s) ?? false;
}

/** Accepts `sha256:<64 hex>` or `sha512:<128 hex>`; throws a MobyError naming the bad value otherwise. */
export function parseDigest(s: string): Digest {
  if (isDigest(s)) return s;
  throw new MobyError(`Invalid digest "${s}": expected sha256:<64 lowercase hex digits>`, { code: 'DIGEST_MISMATCH' });
}

/** The algorithm part of a digest (`sha256`). */
export function digestAlgorithm(d: Digest): 'sha256' | 'sha512' {
  return d.startsWith('sha512:') ? 'sha512' : 'sha256';
}

/** The hex part of a digest: the file name under `blobs/<algorithm>/` in an OCI layout. */
export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

/**
 * Loaded on first use: node:crypto costs several milliseconds to load, and commands that only parse references
 * (`mobyts validate`) never hash.
 */
let crypto: typeof Crypto | undefined;

/** sha256 digest of in-memory bytes (manifests, configs, small synthetic blobs). */
export function digestOf(data: Uint8Array | string): Digest {
  crypto ??= process.getBuiltinModule('node:crypto');
  return `sha256:${crypto.createHash('sha256').update(data).digest('hex')}` as Digest;
}

/** sha256 digest and size of a file's bytes, read as a stream in 1 MiB pieces (never whole in memory). */
export async function digestOfFile(path: string): Promise<{ digest: Digest; size: number }> {
  crypto ??= process.getBuiltinModule('node:crypto');
  const hash = crypto.createHash('sha256');
  let size = 0;
  for await (const c of process.getBuiltinModule('node:fs').createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { digest: `sha256:${hash.digest('hex')}` as Digest, size };
}
