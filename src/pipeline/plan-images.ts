/**
 * The ways a build plan learns its images' digests (docs/architecture.md#pipeline), one per situation:
 * - a build: the store (`storeImages`): trust verified through Notary first, then each image fetched, cache
 *   first unless --pull; the sources fetched are kept for the execution so nothing is looked up twice;
 * - `--locked`: the lockfile (`lockedImages`), the trust check made over the plan's images before anything is
 *   fetched;
 * - a dry run: the lockfile with --locked, the registry with --pull (manifests only, as `mobyts lock` does),
 *   else the cache (`cachedImages`, no network).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageSource } from '../image/source.ts';
import { parseReference, withDigest } from '../oci/reference.ts';
import { platformFor, type ImageStore } from '../store/index.ts';
import type { GetImageOptions, RegistryOptions } from '../store/types.ts';
import type { TrustSpec } from '../spec/types.ts';
import type { Reporter } from '../util/reporter.ts';
import { verifySpecTrust } from '../trust/spec-trust.ts';
import { mapLimit } from '../util/map-limit.ts';
import {
  planImagesFromLock,
  unresolvedImage,
  unverifiedTrust,
  type PlannedImage,
  type PlannedTrust,
} from '../lock/image-plan.ts';
import type { LoadedLock } from '../lock/pin.ts';
import type { ImageRequest } from './plan.ts';

export interface PlanImageOptions {
  trust: TrustSpec | undefined;
  disableContentTrust: boolean;
  trustServer?: string;
  registry: RegistryOptions;
  pull: boolean;
  reporter: Reporter;
  signal: AbortSignal;
  /** When a pulled image's layers are fetched (GetImageOptions `layers`); default: before it is returned. */
  layers?: GetImageOptions['layers'];
}

/** The key of a fetched source: the pinned reference and the platform. */
export function openedKey(pinned: string, platform: string): string {
  return `${pinned}\n${platform}`;
}

function getOptions(platform: string, o: PlanImageOptions, pull: boolean, planned = true): GetImageOptions {
  return {
    platform: platformFor(platform),
    pull,
    layerTocs: planned,
    registry: o.registry,
    reporter: o.reporter,
    signal: o.signal,
    ...(o.layers === undefined ? {} : { layers: o.layers }),
  };
}

/**
 * A build's images through the store: every image `trust:` covers verified through Notary first (nothing is
 * pulled when one fails) and fetched by its signed digest, the rest by reference; each fetched source goes into
 * `opened` (by `openedKey`).
 */
export async function storeImages(
  openStore: () => Promise<ImageStore>,
  requests: ImageRequest[],
  o: PlanImageOptions,
  opened: Map<string, ImageSource>,
): Promise<PlannedImage[]> {
  const verified = await verifySpecTrust(
    requests.map((r) => r.ref),
    {
      trust: o.trust,
      disableContentTrust: o.disableContentTrust,
      registry: o.registry,
      reporter: o.reporter,
      signal: o.signal,
      ...(o.trustServer === undefined ? {} : { trustServer: o.trustServer }),
    },
  );
  const store = await openStore();
  return mapLimit(requests, 4, async (r) => {
    const v = verified.get(r.ref);
    const source = await store.getImage(v?.ref ?? parseReference(r.ref), getOptions(r.platform, o, o.pull, r.planned));
    const pinned = withDigest(parseReference(r.ref), source.rootDescriptor.digest).expanded;
    opened.set(openedKey(pinned, r.platform), source);
    const trust: Pick<PlannedImage, 'trust' | 'signedBy'> =
      v === undefined
        ? { trust: unverifiedTrust(r.ref, o.trust, o.disableContentTrust) }
        : v.signedBy.length === 0
          ? { trust: 'digest' }
          : { trust: 'verified', signedBy: v.signedBy };
    return {
      ref: r.ref,
      platform: r.platform,
      pinned,
      digest: source.rootDescriptor.digest,
      mediaType: source.rootDescriptor.mediaType,
      manifest: source.manifestDigest,
      ...trust,
      from: 'store',
    };
  });
}

/**
 * A locked build's images: every digest from the lock (LOCK errors for what it lacks), then content trust as a
 * check over those images (an image `trust:` covers must have been locked as verified), then each fetched by
 * its locked digest and checked to be the locked manifest; each source goes into `opened`.
 */
export async function lockedImages(
  openStore: () => Promise<ImageStore>,
  lock: LoadedLock,
  requests: ImageRequest[],
  o: PlanImageOptions,
  opened: Map<string, ImageSource>,
): Promise<PlannedImage[]> {
  // the fetching half of the lockfile modules loads only for `--locked`
  const { checkLockedTrust, getLockedImage } = await import('../lock/fetch-locked.ts');
  const images = planImagesFromLock(lock, requests, true, (ref) =>
    unverifiedTrust(ref, o.trust, o.disableContentTrust),
  );
  for (const i of images) checkLockedTrust(i, parseReference(i.ref), o, lock.file);
  const store = await openStore();
  await mapLimit(images, 4, async (i) => {
    const { source } = await getLockedImage(store, lock, parseReference(i.ref), {
      ...getOptions(
        i.platform,
        o,
        false,
        requests.some((r) => r.ref === i.ref && r.planned),
      ),
      arch: i.platform,
    });
    opened.set(openedKey(i.pinned ?? i.ref, i.platform), source);
  });
  return images;
}

/**
 * A dry run's images from the cache alone (no network, nothing written when `cacheDir` holds no cache): what
 * the build would use without --pull; an image not fully cached is planned unresolved (the build pulls it).
 * Images `trust:` covers are `pending`: the build verifies them through Notary first.
 */
export async function cachedImages(
  openStore: () => Promise<ImageStore>,
  cacheDir: string,
  requests: ImageRequest[],
  o: Pick<PlanImageOptions, 'trust' | 'disableContentTrust'>,
): Promise<PlannedImage[]> {
  const trustOf = (ref: string): PlannedTrust => unverifiedTrust(ref, o.trust, o.disableContentTrust);
  const missing = (r: ImageRequest): PlannedImage =>
    unresolvedImage(r.ref, r.platform, trustOf(r.ref), 'not in the cache: the build pulls it (--pull resolves it now)');
  if (!existsSync(join(cacheDir, 'index.json'))) return requests.map(missing);
  const store = await openStore();
  try {
    return await mapLimit(requests, 4, async (r) => {
      const source = await store.getCachedImage(parseReference(r.ref), platformFor(r.platform)).catch(() => undefined);
      if (source === undefined) return missing(r);
      return {
        ref: r.ref,
        platform: r.platform,
        pinned: withDigest(parseReference(r.ref), source.rootDescriptor.digest).expanded,
        digest: source.rootDescriptor.digest,
        mediaType: source.rootDescriptor.mediaType,
        manifest: source.manifestDigest,
        trust: trustOf(r.ref),
        from: 'cache',
      };
    });
  } finally {
    await store.close();
  }
}
