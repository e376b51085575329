/**
 * The OCI config, manifest and index of a package image (image-spec config.md, manifest.md, image-index.md),
 * as pure functions of their inputs so the same package always serialises to the same bytes.
 */
import { digestOf, type Digest } from '../oci/digest.ts';
import {
  MediaType,
  MOBY_CONFIG_LABEL,
  type ContainerConfig,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type Platform,
} from '../oci/types.ts';
import type { PackageImageConfig } from './build-yml.ts';

export interface PackageLayer {
  digest: Digest;
  size: number;
  diffId: Digest;
}

export interface ImageInputs {
  platform: Platform;
  /** The base image's config (container config and diff_ids), if any. */
  base?: { config: ImageConfig; layers: Descriptor[] };
  layer: PackageLayer;
  imageConfig: PackageImageConfig;
  /** build.yml `config`, JSON-serialised into the org.mobyproject.config label. */
  mobyConfig?: Record<string, unknown>;
  created: number;
}

/** The container config: the base's, overridden field by field by build.yml's imageConfig and config label. */
export function containerConfig(
  base: ContainerConfig | undefined,
  own: PackageImageConfig,
  mobyConfig?: Record<string, unknown>,
): ContainerConfig {
  const labels = { ...(base?.Labels ?? {}), ...(own.Labels ?? {}) };
  if (mobyConfig !== undefined) labels[MOBY_CONFIG_LABEL] = JSON.stringify(mobyConfig);
  const out: ContainerConfig = {};
  const env = own.Env ?? base?.Env ?? undefined;
  const entrypoint = own.Entrypoint ?? base?.Entrypoint ?? undefined;
  // A new Entrypoint resets an inherited Cmd, as in a Dockerfile.
  const cmd = own.Cmd ?? (own.Entrypoint === undefined ? (base?.Cmd ?? undefined) : undefined);
  const cwd = own.WorkingDir ?? base?.WorkingDir;
  if (env !== undefined) out.Env = env;
  if (entrypoint !== undefined) out.Entrypoint = entrypoint;
  if (cmd !== undefined) out.Cmd = cmd;
  if (cwd !== undefined && cwd !== '') out.WorkingDir = cwd;
  if (Object.keys(labels).length > 0)
    out.Labels = Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
  return out;
}

export interface ImageBlobs {
  config: Buffer;
  manifest: Buffer;
  /** The manifest's descriptor with its platform, as an index lists it. */
  manifestDescriptor: Descriptor;
  layers: Descriptor[];
}

/** Serialises an index over platform manifests (what LinuxKit's cache holds for a package), in the order given. */
export function indexBlob(manifests: readonly Descriptor[]): Buffer {
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: [...manifests] };
  return Buffer.from(JSON.stringify(index));
}

/** Serialises one platform's config and manifest. */
export function imageBlobs(i: ImageInputs): ImageBlobs {
  const layerDesc: Descriptor = { mediaType: MediaType.OCI_LAYER_GZIP, digest: i.layer.digest, size: i.layer.size };
  const layers = [...(i.base?.layers ?? []), layerDesc];
  const config: ImageConfig = {
    architecture: i.platform.architecture,
    os: i.platform.os,
    ...(i.platform.variant === undefined ? {} : { variant: i.platform.variant }),
    created: new Date(i.created * 1000).toISOString().replace('.000Z', 'Z'),
    config: containerConfig(i.base?.config.config, i.imageConfig, i.mobyConfig),
    rootfs: { type: 'layers', diff_ids: [...(i.base?.config.rootfs.diff_ids ?? []), i.layer.diffId] },
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OCI_MANIFEST,
    config: { mediaType: MediaType.OCI_CONFIG, digest: digestOf(configBytes), size: configBytes.length },
    layers,
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDescriptor: Descriptor = {
    mediaType: MediaType.OCI_MANIFEST,
    digest: digestOf(manifestBytes),
    size: manifestBytes.length,
    platform: i.platform,
  };
  return { config: configBytes, manifest: manifestBytes, manifestDescriptor, layers };
}
