/**
 * Resolving a spec's image references for a lockfile: the tag → root digest (through Notary first when
 * `trust:` covers the image), and, for an index, every platform manifest it lists. Reads manifests only,
 * never layers.
 */
import { createRegistryClient, pullContext, type RegistryClient } from '../registry/client.ts';
import { manifestSelector, parseReference, type Reference } from '../oci/reference.ts';
import type { RegistryOptions } from '../store/types.ts';
import { isIndexMediaType, parseManifest } from '../store/manifest.ts';
import { formatPlatform, isAttestation } from '../store/platform.ts';
import type { TrustSpec } from '../spec/types.ts';
import { isTrusted } from '../trust/verify.ts';
import { verifySpecTrust, type VerifiedImage } from '../trust/spec-trust.ts';
import type { Reporter } from '../util/reporter.ts';
import type { LockedImage } from './lockfile.ts';
import { MobyError } from '../util/errors.ts';
import { plannedFromRecord, type PlannedImage } from './image-plan.ts';

export interface ResolveLockOptions {
  registry: RegistryOptions;
  trust: TrustSpec | undefined;
  disableContentTrust: boolean;
  trustServer?: string;
  trustDir?: string;
  reporter: Reporter;
  signal?: AbortSignal;
}

async function describeRoot(
  client: RegistryClient,
  ref: Reference,
): Promise<Pick<LockedImage, 'digest' | 'mediaType' | 'platforms'>> {
  const ctx = pullContext(ref);
  const root = await client.resolve(ctx, manifestSelector(ref));
  if (!isIndexMediaType(root.mediaType)) return { digest: root.digest, mediaType: root.mediaType };
  const { bytes } = await client.fetchManifest(ctx, root.digest, root);
  const parsed = parseManifest(bytes, root.mediaType, ctx.subject);
  const manifests = parsed.kind === 'index' ? parsed.index.manifests.filter((d) => !isAttestation(d)) : [];
  return {
    digest: root.digest,
    mediaType: root.mediaType,
    platforms: manifests.map((d) => ({ platform: formatPlatform(d.platform), digest: d.digest })),
  };
}

function trustState(
  ref: Reference,
  verified: VerifiedImage | undefined,
  opts: ResolveLockOptions,
): Pick<LockedImage, 'trust' | 'signedBy'> {
  if (verified !== undefined)
    return verified.signedBy.length === 0 ? { trust: 'digest' } : { trust: 'verified', signedBy: verified.signedBy };
  return { trust: isTrusted(ref, opts.trust) && opts.disableContentTrust ? 'disabled' : 'none' };
}

/**
 * Describes every reference in `refs` (expanded spec references, duplicates allowed) through the registry, keyed
 * by the expanded reference: root digest, media type, platforms, trust state. Content trust (verifySpecTrust) runs
 * for all of them before any manifest is read; the first failure throws and nothing is returned. The walk both
 * `mobyts lock` and a plan resolved through the registry use.
 */
export async function describeImages(
  refs: readonly string[],
  opts: ResolveLockOptions,
): Promise<Map<string, LockedImage>> {
  const verified = await verifySpecTrust(refs, opts);
  const client = createRegistryClient({
    registry: opts.registry,
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  const images = new Map<string, LockedImage>();
  try {
    for (const name of [...new Set(refs)].sort()) {
      const ref = parseReference(name);
      const v = verified.get(name);
      const image = { ...(await describeRoot(client, v?.ref ?? ref)), ...trustState(ref, v, opts) };
      images.set(ref.expanded, image);
      opts.reporter.emit({ type: 'info', message: `resolved ${ref.expanded} → ${image.digest}` });
    }
  } finally {
    await client.close();
  }
  return images;
}

/**
 * The planned images for `requests` (each spec reference once per platform it is read for), described through
 * the registry by describeImages.
 */
export async function planImagesFromRegistry(
  requests: readonly { ref: string; platform: string }[],
  opts: ResolveLockOptions,
): Promise<PlannedImage[]> {
  const described = await describeImages(
    requests.map((r) => r.ref),
    opts,
  );
  return requests.map((r) => {
    const ref = parseReference(r.ref).expanded;
    const entry = described.get(ref);
    if (entry === undefined)
      throw new MobyError(`Cannot find "${ref}" among the described images: this is a bug`, { code: 'LOCK' });
    return plannedFromRecord(ref, r.platform, entry, 'registry');
  });
}
