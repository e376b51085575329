/**
 * The image store: LinuxKit's cache layout (an OCI image layout: `oci-layout`, `index.json`,
 * `blobs/sha256/<hex>`), shared by parallel builds and by `linuxkit` itself. Only `store/` writes it.
 */
import type { Readable } from 'node:stream';
import type { Digest } from '../oci/digest.ts';
import type { Descriptor, Platform } from '../oci/types.ts';
import type { Reference } from '../oci/reference.ts';
import type { ImageSource } from '../oci/image-source.ts';
import type { Reporter } from '../util/reporter.ts';

export interface RegistryOptions {
  /** `[registry=]url` mirrors, LinuxKit's `--mirror`. */
  mirrors: string[];
  /** Hosts allowed over plain HTTP or with unverified TLS. */
  insecureRegistries: string[];
  /** Extra CA bundle (PEM file path). */
  caFile?: string;
}

export interface GetImageOptions {
  platform: Platform;
  /** Re-resolve the tag and fetch missing blobs even when the image is cached (`--pull`). */
  pull: boolean;
  registry: RegistryOptions;
  reporter: Reporter;
  signal?: AbortSignal;
  /**
   * When a pulled image's layers are fetched (docs/formats.md, "Layers as the build needs them"): `now` (the
   * default) before the image is returned; `prefetch`: the image is returned once its manifests and config are
   * stored, its layers download in the background and reading one waits for it; `on-demand`: a layer is fetched
   * when first read. With the last two the returned source has `pull` (store-source.ts `PendingPull`).
   */
  layers?: 'now' | 'prefetch' | 'on-demand';
  /**
   * Whether a pull makes each layer's table of contents from its bytes on their way in (layer-toc.ts); default
   * true. A build passes false for images it only reads for their data (containers, the kernel): the TOC costs
   * a decompression of the layer that such a build never uses.
   */
  layerTocs?: boolean;
}

export interface Store {
  /** The layout directory. */
  readonly dir: string;
  /**
   * The image for `ref` on `platform`: from the cache without network when its index entry and every blob the
   * platform needs are present (and `pull` is false), else fetched, verified and stored first. Blobs are
   * verified as they are written; a cached blob is trusted (`verify()` re-checks on demand).
   */
  getImage(ref: Reference, opts: GetImageOptions): Promise<ImageSource>;
  /** Like getImage but never touches the network; undefined when not fully cached. */
  getCachedImage(ref: Reference, platform: Platform): Promise<ImageSource | undefined>;
  /**
   * Stores a blob: temp file → hash → fsync → rename. Idempotent; rejects (DIGEST_MISMATCH) and stores nothing
   * when `expected` is given and does not match. Returns the descriptor fields it computed.
   */
  putBlob(
    data: Readable | Uint8Array,
    expected?: { digest: Digest; size: number },
  ): Promise<{ digest: Digest; size: number }>;
  hasBlob(digest: Digest): Promise<boolean>;
  /** Opens a stored blob, verified against its digest at end of stream. */
  openBlob(digest: Digest, size?: number): Promise<Readable>;
  /** Points `refName` (an expanded reference) at `descriptor` in index.json, atomically, under the lock. */
  setRef(refName: string, descriptor: Descriptor): Promise<void>;
  /** The descriptor `refName` points at, if any. */
  getRef(refName: string): Promise<Descriptor | undefined>;
}
