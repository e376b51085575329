/**
 * What the assembly needs from its sibling modules, passed in rather than imported, so the assembly stays a
 * pure transform over entry streams (docs/architecture.md#principles) and its unit tests can feed it small in-memory
 * images. `pipeline/wire.ts` connects the real modules.
 */
import type { Readable } from 'node:stream';
import type { ImageSource } from '../image/source.ts';
import type { Descriptor, ImageConfig } from '../oci/types.ts';
import type { ContainerSection, ImageEntry, MobySpec } from '../spec/types.ts';
import type { EntryStream } from '../tar/entry.ts';

export interface BundleConfigInput {
  section: ContainerSection;
  index: number;
  entry: ImageEntry;
  /** The image's config (its `org.mobyproject.config` label may make the container readonly). */
  image: ImageConfig;
  /** The `extractTo` of the first container using the same image, when this one is not the first. */
  sharedRoot?: string;
}

/** The runtime module's answer for one container (runtime/bundle.ts `Bundle`, the fields the assembly uses). */
export interface BundleFiles {
  /** `containers/<section>/<dir>`. */
  path: string;
  readonly: boolean;
  /** Where to unpack the image; undefined when `sharedRoot` was given. */
  extractTo: string | undefined;
  configJson: string;
  runtimeJson: string;
}

export interface RootfsDeps {
  /**
   * The flattened filesystem of an image (whiteouts applied, upper layers first); with `layers`, each layer's
   * entries come from it (its table of contents, for planning) instead of the layer's tar.
   */
  flatten(source: ImageSource, layers?: (layer: Descriptor) => Promise<EntryStream>): EntryStream;
  /** Entries of an uncompressed tar. */
  readTar(input: Readable): EntryStream;
  /** `--decompress-kernel`: the kernel binary decompressed (gzip, bzImage payloads…). */
  decompressKernel(kernel: Buffer): Promise<Buffer>;
  /** Paths and `config.json`/`runtime.json` of one container (runtime module); throws on a bad config. */
  bundle(input: BundleConfigInput): BundleFiles;
  /** The merged spec as a `metadata: yaml|json` file shows it (images already expanded). */
  renderMetadata(spec: MobySpec, format: 'yaml' | 'json'): string;
}
