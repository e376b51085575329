/**
 * Content trust for a whole build, run before anything is pulled or written: every spec image `trust:` covers
 * is verified through Notary and replaced by `name:tag@signed-digest`; with `--disable-content-trust` each is
 * warned about instead. Images outside `trust:` are left alone (pulled as before).
 */
import { parseReference, withDigest, type Reference } from '../oci/reference.ts';
import type { RegistryOptions } from '../store/types.ts';
import type { TrustSpec } from '../spec/types.ts';
import type { Reporter } from '../util/reporter.ts';
import { isTrusted, verifyTrusted, warnTrustDisabled, type TrustResult } from './verify.ts';

export interface SpecTrustOptions {
  trust: TrustSpec | undefined;
  disableContentTrust: boolean;
  registry: RegistryOptions;
  trustServer?: string;
  trustDir?: string;
  reporter: Reporter;
  signal?: AbortSignal;
}

export interface VerifiedImage extends TrustResult {
  /** The reference to pull: the spec's, pinned to the signed digest. */
  ref: Reference;
}

/**
 * Verifies every reference in `refs` (expanded spec references) that `opts.trust` covers, in sorted order, and
 * returns them keyed by the spec reference. The first failure throws (MobyError TRUST); nothing is pulled.
 */
export async function verifySpecTrust(
  refs: readonly string[],
  opts: SpecTrustOptions,
): Promise<Map<string, VerifiedImage>> {
  const out = new Map<string, VerifiedImage>();
  for (const name of [...new Set(refs)].sort()) {
    const ref = parseReference(name);
    if (!isTrusted(ref, opts.trust)) continue;
    if (opts.disableContentTrust) {
      warnTrustDisabled(ref, opts.reporter);
      continue;
    }
    const result = await verifyTrusted(ref, {
      registry: opts.registry,
      reporter: opts.reporter,
      ...(opts.trustServer === undefined ? {} : { trustServer: opts.trustServer }),
      ...(opts.trustDir === undefined ? {} : { trustDir: opts.trustDir }),
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
    out.set(name, { ...result, ref: withDigest(ref, result.digest) });
  }
  return out;
}
