/**
 * Resolving a spec's image references for a lockfile: the tag → root digest (through Notary first when
 * `trust:` covers the image), and, for an index, every platform manifest it lists. Reads manifests only,
 * never layers.
 */
import { createRegistryClient, pullContext, type RegistryClient } from '../registry/client.ts';
import { manifestSelector, parseReference, withDigest, type Reference } from '../oci/reference.ts';
import type { Digest } from '../oci/digest.ts';
import type { RegistryOptions } from '../store/types.ts';
import { isIndexMediaType, parseManifest } from '../store/manifest.ts';
import { formatPlatform, isAttestation } from '../store/platform.ts';
import type { TrustSpec } from '../spec/types.ts';
import { isTrusted, verifyTrusted, warnTrustDisabled } from '../trust/verify.ts';
import type { Reporter } from '../util/reporter.ts';
import type { LockedImage, Lockfile } from './lockfile.ts';
import { LOCKFILE_VERSION } from './lockfile.ts';

export interface ResolveLockOptions {
  registry: RegistryOptions;
  trust: TrustSpec | undefined;
  disableContentTrust: boolean;
  trustServer?: string;
  trustDir?: string;
  reporter: Reporter;
  signal?: AbortSignal;
}

/** What the registry serves for `ref`'s tag (or digest) now: the root descriptor's digest. */
export async function registryDigest(client: RegistryClient, ref: Reference): Promise<Digest> {
  return (await client.resolve(pullContext(ref), manifestSelector(ref))).digest;
}

async function describeRoot(client: RegistryClient, ref: Reference): Promise<Pick<LockedImage, 'digest' | 'mediaType' | 'platforms'>> {
  const ctx = pullContext(ref);
  const root = await client.resolve(ctx, manifestSelector(ref));
  if (!isIndexMediaType(root.mediaType)) return { digest: root.digest, mediaType: root.mediaType };
  const { bytes } = await client.fetchManifest(ctx, root.digest, root);
  const parsed = parseManifest(bytes, root.mediaType, ctx.subject);
  const manifests = parsed.kind === 'index' ? parsed.index.manifests.filter((d) => !isAttestation(d)) : [];
  return { digest: root.digest, mediaType: root.mediaType, platforms: manifests.map((d) => ({ platform: formatPlatform(d.platform), digest: d.digest })) };
}

async function lockOne(client: RegistryClient, ref: Reference, opts: ResolveLockOptions): Promise<LockedImage> {
  if (!isTrusted(ref, opts.trust)) return { ...await describeRoot(client, ref), trust: 'none' };
  if (opts.disableContentTrust) {
    warnTrustDisabled(ref, opts.reporter);
    return { ...await describeRoot(client, ref), trust: 'disabled' };
  }
  const verified = await verifyTrusted(ref, {
    registryDigest: (r) => registryDigest(client, r),
    ...(opts.trustServer === undefined ? {} : { trustServer: opts.trustServer }),
    ...(opts.registry.caFile === undefined ? {} : { caFile: opts.registry.caFile }),
    ...(opts.trustDir === undefined ? {} : { trustDir: opts.trustDir }),
    reporter: opts.reporter, ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  const root = await describeRoot(client, withDigest(ref, verified.digest));
  return verified.signedBy.length === 0 ? { ...root, trust: 'digest' } : { ...root, trust: 'verified', signedBy: verified.signedBy };
}

/**
 * Locks every reference in `refs` (expanded spec references, duplicates allowed). Content trust runs before any
 * manifest is read; the first failure throws and nothing is returned.
 */
export async function resolveLock(refs: readonly string[], opts: ResolveLockOptions): Promise<Lockfile> {
  const client = createRegistryClient({ registry: opts.registry, ...(opts.signal === undefined ? {} : { signal: opts.signal }) });
  const images: Record<string, LockedImage> = {};
  try {
    for (const name of [...new Set(refs)].sort()) {
      const ref = parseReference(name);
      images[ref.expanded] = await lockOne(client, ref, opts);
      opts.reporter.emit({ type: 'info', message: `locked ${ref.expanded} → ${images[ref.expanded]?.digest ?? ''}` });
    }
  } finally {
    await client.close();
  }
  return { lockfileVersion: LOCKFILE_VERSION, images };
}
