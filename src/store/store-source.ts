/**
 * The store-backed ImageSource: an image whose manifests, config and platform layers are all in the cache.
 * Extra members beyond ImageSource: the root descriptor (index or manifest), the platform, and the image's
 * BuildKit attestations (SBOM/provenance manifests that reference this platform manifest), whose layers are
 * stored too and readable with `openBlob` — the SBOM stage reads them from here.
 */
import type { Readable } from 'node:stream';
import type { Digest } from '../oci/digest.ts';
import type { Descriptor, ImageConfig, ImageManifest, Platform } from '../oci/types.ts';
import type { Reference } from '../oci/reference.ts';
import type { ImageSource } from '../oci/image-source.ts';

export interface Attestation {
  /** The index entry (annotated `vnd.docker.reference.type: attestation-manifest`). */
  descriptor: Descriptor;
  /** Its manifest; layers are in-toto statements (`application/vnd.in-toto+json`), each annotated with `in-toto.io/predicate-type`. */
  manifest: ImageManifest;
}

export interface StoreImageSource extends ImageSource {
  /** What the ref points at: an index or a single manifest. */
  readonly rootDescriptor: Descriptor;
  readonly platform: Platform;
  /** Attestations for this platform manifest, present in the cache (empty when the image has none). */
  readonly attestations: Attestation[];
  /** Set when the source was returned before all its blobs were fetched (GetImageOptions `layers`). */
  readonly pull?: PendingPull;
}

/**
 * A pull whose layers were not all fetched when its source was returned. The image is named in the cache's
 * index.json only by `finish`, and only when every blob it needs is there, so the cache never names an image
 * it does not hold whole.
 */
export interface PendingPull {
  /**
   * Fetches what is still missing when `all` (else only waits for the fetches under way), names the image
   * when every blob is there, and closes the registry connection; true when the image was named.
   */
  finish(all: boolean): Promise<boolean>;
  /** Stops every fetch under way and closes the connection; the image is not named. */
  abort(): Promise<void>;
}

export interface StoreImageSourceInit {
  ref: Reference;
  rootDescriptor: Descriptor;
  platform: Platform;
  manifestDigest: Digest;
  manifest: ImageManifest;
  config: ImageConfig;
  attestations: Attestation[];
  openBlob(digest: Digest, size?: number): Promise<Readable>;
  pull?: PendingPull;
}

/** Builds the source; blob reads go through `init.openBlob`, which verifies digest and size at end of stream. */
export function storeImageSource(init: StoreImageSourceInit): StoreImageSource {
  return {
    ref: init.ref,
    rootDescriptor: init.rootDescriptor,
    platform: init.platform,
    manifestDigest: init.manifestDigest,
    manifest: init.manifest,
    config: init.config,
    attestations: init.attestations,
    openLayer: (layer) => init.openBlob(layer.digest, layer.size),
    openBlob: (digest, size) => init.openBlob(digest, size),
    ...(init.pull === undefined ? {} : { pull: init.pull }),
  };
}
