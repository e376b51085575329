/**
 * The OCI / Docker v2 data model, with the spec's own names (image-spec descriptor.md, manifest.md,
 * image-index.md, config.md). Plain data; parsers in this folder turn `unknown` JSON into these.
 */
import type { Digest } from './digest.ts';

export const MediaType = {
  OCI_INDEX: 'application/vnd.oci.image.index.v1+json',
  OCI_MANIFEST: 'application/vnd.oci.image.manifest.v1+json',
  OCI_CONFIG: 'application/vnd.oci.image.config.v1+json',
  OCI_LAYER: 'application/vnd.oci.image.layer.v1.tar',
  OCI_LAYER_GZIP: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OCI_LAYER_ZSTD: 'application/vnd.oci.image.layer.v1.tar+zstd',
  DOCKER_MANIFEST_LIST: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DOCKER_MANIFEST: 'application/vnd.docker.distribution.manifest.v2+json',
  DOCKER_CONFIG: 'application/vnd.docker.container.image.v1+json',
  DOCKER_LAYER_GZIP: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DOCKER_FOREIGN_LAYER: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  IN_TOTO: 'application/vnd.in-toto+json',
} as const;

export type Annotations = Record<string, string>;

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Annotations;
  platform?: Platform;
  urls?: string[];
  artifactType?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Annotations;
  subject?: Descriptor;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Annotations;
}

/** The `config` object of an image configuration (config.md "Properties"); the fields LinuxKit reads. */
export interface ContainerConfig {
  User?: string;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, unknown>;
  Volumes?: Record<string, unknown>;
  StopSignal?: string;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history?: unknown[];
}

/** Annotation that names a descriptor in an OCI layout's index.json (LinuxKit's cache key). */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
/** Label holding LinuxKit's per-image container defaults (docs/linuxkit-behaviour.md#precedence). */
export const MOBY_CONFIG_LABEL = 'org.mobyproject.config';

/** Largest manifest, index or image configuration read from a registry or a cache (bytes). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
