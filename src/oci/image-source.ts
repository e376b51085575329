/**
 * "An image I can read", whatever holds it (the store, an OCI layout directory, an archive): the one
 * interface the assembly stages use, so nothing downstream knows where an image came from
 * (docs/architecture.md#principles). Here, at the bottom of the layers, because the store returns one and
 * everything above reads through one; `image/` implements it for other holders.
 */
import type { Readable } from 'node:stream';
import type { Digest } from './digest.ts';
import type { Descriptor, ImageConfig, ImageManifest } from './types.ts';
import type { Reference } from './reference.ts';

export interface ImageSource {
  /** The reference as resolved (expanded form, pinned when known). */
  readonly ref: Reference;
  /** Digest of the platform manifest this source reads. */
  readonly manifestDigest: Digest;
  readonly manifest: ImageManifest;
  readonly config: ImageConfig;
  /**
   * Opens a layer's compressed blob as stored. The stream fails with a MobyError (DIGEST_MISMATCH) at its end
   * when the bytes do not match `layer.digest`/`layer.size`; the caller drains or destroys it.
   */
  openLayer(layer: Descriptor): Promise<Readable>;
  /** Opens any other blob of this image (e.g. attestation layers), verified the same way. */
  openBlob(digest: Digest, size: number): Promise<Readable>;
}
