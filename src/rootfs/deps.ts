/**
 * What the assembly needs from its sibling modules, passed in rather than imported, so the assembly stays a
 * pure transform over entry streams (design.md §1) and its unit tests can feed it small in-memory images.
 * `build/wire.ts` connects the real modules.
 */
import type { Readable } from 'node:stream';
import type { ImageSource } from '../image/source.ts';
import type { ImageConfig } from '../oci/types.ts';
import type { ContainerSection, ImageEntry, MobySpec } from '../spec/types.ts';
import type { EntryStream } from '../tar/entry.ts';

export interface BundleConfigInput {
  section: ContainerSection;
  index: number;
  entry: ImageEntry;
  image: ImageConfig;
  /** The bundle directory as seen at boot: `/containers/onboot/000-dhcpcd`. */
  bundlePath: string;
  /** The directory holding the image filesystem at boot (the bundle's own, or the first user's when shared). */
  rootPath: string;
}

export interface RootfsDeps {
  /** The flattened filesystem of an image (whiteouts applied, upper layers first). */
  flatten(source: ImageSource): EntryStream;
  /** Entries of an uncompressed tar. */
  readTar(input: Readable): EntryStream;
  /** `--decompress-kernel`: the kernel binary decompressed (gzip, bzImage payloads…). */
  decompressKernel(kernel: Buffer): Promise<Buffer>;
  /** `config.json` and `runtime.json` bytes of one container (runtime module). */
  bundleConfig(input: BundleConfigInput): Promise<{ config: Uint8Array; runtime: Uint8Array }>;
  /** The merged spec as a `metadata: yaml|json` file shows it (images already expanded). */
  renderMetadata(spec: MobySpec, format: 'yaml' | 'json'): string;
}
