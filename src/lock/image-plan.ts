/**
 * The images of a build plan (docs/architecture.md#pipeline): each image the spec names, for each platform it is
 * read for, as plain data — the reference as written, what it resolved to (`ref@digest`, the platform's
 * manifest), how content trust treats it, and where the digests came from. One record shape for the three ways
 * a plan learns digests: the registry (`mobyts lock`, `build --dry-run --pull`), a lockfile (`--locked`) and the
 * store (a build). A lockfile is the registry's records written out (`lockfileFromImages`).
 */
import type { Digest } from '../oci/digest.ts';
import { parseReference, withDigest } from '../oci/reference.ts';
import { formatPlatform, platformFor } from '../store/platform.ts';
import type { TrustSpec } from '../spec/types.ts';
import { isTrusted } from '../trust/verify.ts';
import { isMobyError, MobyError } from '../util/errors.ts';
import { LOCKFILE_VERSION, type LockedImage, type LockedPlatform, type Lockfile } from './lockfile.ts';
import { choosePlatform, pinFromLock } from './pin.ts';

/**
 * How content trust treats an image: the lockfile's four states (`verified`: Notary-signed tag; `digest`: in
 * `trust:` but referenced by digest; `disabled`: in `trust:` but --disable-content-trust; `none`: not in
 * `trust:`), and `pending`: in `trust:`, to be verified through Notary by the build (a dry run from the cache).
 */
export type PlannedTrust = LockedImage['trust'] | 'pending';

/** Where a planned image's digests came from; `unresolved` when nothing could say (see `problem`). */
export type PlannedFrom = 'registry' | 'lockfile' | 'store' | 'cache' | 'unresolved';

export interface PlannedImage {
  /** The expanded reference as the spec wrote it (tag and/or digest). */
  ref: string;
  /** The platform it is read for: `linux/amd64` (the build's) or an OCI volume's. */
  platform: string;
  /** `ref` pinned to `digest`: what the build fetches. Absent when unresolved. */
  pinned?: string;
  /** The root digest: the index, or the single manifest. */
  digest?: Digest;
  mediaType?: string;
  /** The platform's manifest digest (the root's for a single manifest). */
  manifest?: Digest;
  /** For an index, when known (registry, lockfile): every image manifest it lists, attestations left out. */
  platforms?: LockedPlatform[];
  trust: PlannedTrust;
  /** The Notary role(s) that signed the tag, when `verified`. */
  signedBy?: string[];
  from: PlannedFrom;
  /** Why the image is unresolved, or why its platform is missing. */
  problem?: string;
}

/** The trust state of `ref` that nothing has verified (yet): none, disabled, digest, or pending. */
export function unverifiedTrust(ref: string, trust: TrustSpec | undefined, disableContentTrust: boolean): PlannedTrust {
  const r = parseReference(ref);
  if (!isTrusted(r, trust)) return 'none';
  if (disableContentTrust) return 'disabled';
  return r.digest !== undefined ? 'digest' : 'pending';
}

/** `linux/amd64` for `amd64`, `linux/arm64/v8` for `linux/arm64` (the store's default variant). */
export function platformName(platform: string): string {
  return formatPlatform(platformFor(platform));
}

/**
 * A planned image from a lock record (the registry's description of the root, or a lockfile's entry): the root
 * pinned, and the manifest for `platform` chosen as the build chooses it (exact platform, else OS+arch).
 */
export function plannedFromRecord(
  ref: string,
  platform: string,
  entry: LockedImage,
  from: 'registry' | 'lockfile',
): PlannedImage {
  const manifest = entry.platforms === undefined ? entry.digest : choosePlatform(entry.platforms, platform);
  const problem =
    manifest === undefined
      ? `the index ${entry.digest} has no ${platformName(platform)} manifest (have ${(entry.platforms ?? []).map((p) => p.platform).join(', ')})`
      : undefined;
  return {
    ref,
    platform: platformName(platform),
    pinned: withDigest(parseReference(ref), entry.digest).expanded,
    digest: entry.digest,
    mediaType: entry.mediaType,
    ...(manifest === undefined ? {} : { manifest }),
    ...(entry.platforms === undefined ? {} : { platforms: entry.platforms }),
    trust: entry.trust,
    ...(entry.signedBy === undefined ? {} : { signedBy: entry.signedBy }),
    from,
    ...(problem === undefined ? {} : { problem }),
  };
}

/** An image nothing could resolve (a dry run: not cached, not locked), with why. */
export function unresolvedImage(ref: string, platform: string, trust: PlannedTrust, problem: string): PlannedImage {
  return { ref, platform: platformName(platform), trust, from: 'unresolved', problem };
}

/**
 * The lockfile of resolved images: each reference once (the first record of it; every record of a reference
 * describes the same root), with the root digest, media type, all platforms and its trust state. Throws a
 * MobyError (LOCK) for an image that is unresolved, known only from the cache (its index's platforms are not
 * read) or not yet verified.
 */
export function lockfileFromImages(images: readonly PlannedImage[]): Lockfile {
  const out: Record<string, LockedImage> = {};
  for (const i of images) {
    if (out[i.ref] !== undefined) continue;
    if (i.digest === undefined || i.mediaType === undefined || i.trust === 'pending' || i.from !== 'registry')
      throw new MobyError(`Cannot lock "${i.ref}": it was not resolved through the registry (${i.from})`, {
        code: 'LOCK',
      });
    out[i.ref] = {
      digest: i.digest,
      mediaType: i.mediaType,
      ...(i.platforms === undefined ? {} : { platforms: i.platforms }),
      trust: i.trust,
      ...(i.signedBy === undefined ? {} : { signedBy: i.signedBy }),
    };
  }
  return { lockfileVersion: LOCKFILE_VERSION, images: out };
}

/**
 * The planned images for `requests` from a lockfile (`--locked`): nothing is resolved, every digest is the lock's.
 * `strict` (a build) throws pinFromLock's MobyError (LOCK) for an image the lock lacks, pins differently or has
 * no manifest for; otherwise (a dry run) such an image is planned unresolved with that message.
 */
export function planImagesFromLock(
  lock: Lockfile & { file?: string },
  requests: readonly { ref: string; platform: string }[],
  strict: boolean,
  trust: (ref: string) => PlannedTrust,
): PlannedImage[] {
  return requests.map((r) => {
    const ref = parseReference(r.ref);
    try {
      pinFromLock(lock, ref, r.platform);
    } catch (err) {
      // a dry run shows why the lockfile cannot pin this image; anything but a MobyError is a bug and propagates
      if (strict || !isMobyError(err)) throw err;
      return unresolvedImage(ref.expanded, r.platform, trust(r.ref), err.message);
    }
    const entry = lock.images[ref.expanded];
    if (entry === undefined)
      throw new MobyError(`Cannot find "${ref.expanded}" in the lock: this is a bug`, { code: 'LOCK' });
    return plannedFromRecord(ref.expanded, r.platform, entry, 'lockfile');
  });
}
