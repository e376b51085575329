/**
 * Narrowing manifest JSON (bytes already digest-checked) into the OCI types: index vs manifest by
 * mediaType or shape, with the checks the pull needs (descriptors well formed). Docker v2 schema 1 is refused.
 */
import { isDigest } from '../oci/digest.ts';
import { MediaType, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest } from '../oci/types.ts';
import { MobyError } from '../util/errors.ts';

export type ParsedManifest = { kind: 'index'; index: ImageIndex } | { kind: 'manifest'; manifest: ImageManifest };

const INDEX_TYPES = new Set<string>([MediaType.OCI_INDEX, MediaType.DOCKER_MANIFEST_LIST]);
const MANIFEST_TYPES = new Set<string>([MediaType.OCI_MANIFEST, MediaType.DOCKER_MANIFEST]);

export function isIndexMediaType(mt: string): boolean {
  return INDEX_TYPES.has(mt);
}

function bad(subject: string, why: string): MobyError {
  return new MobyError(`${subject}: ${why}`, { code: 'REGISTRY' });
}

function checkDescriptor(d: unknown, subject: string, where: string): Descriptor {
  const o = d as Partial<Descriptor> | null;
  if (o === null || typeof o !== 'object' || typeof o.digest !== 'string' || !isDigest(o.digest) || typeof o.size !== 'number' || typeof o.mediaType !== 'string') {
    throw bad(subject, `${where} is not a valid descriptor (needs mediaType, digest, size)`);
  }
  return o as Descriptor;
}

/** Parses manifest bytes; `mediaType` is the descriptor's, used when the JSON lacks one. */
export function parseManifest(bytes: Uint8Array, mediaType: string, subject: string): ParsedManifest {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw bad(subject, 'the manifest is not valid JSON');
  }
  if (json.schemaVersion === 1) throw bad(subject, 'Docker image manifest v2 schema 1 is not supported (re-push the image with a current tool)');
  const mt = typeof json.mediaType === 'string' ? json.mediaType : mediaType;
  if (INDEX_TYPES.has(mt) || (!MANIFEST_TYPES.has(mt) && Array.isArray(json.manifests))) {
    if (!Array.isArray(json.manifests)) throw bad(subject, 'the index has no manifests list');
    const manifests = json.manifests.map((d, i) => checkDescriptor(d, subject, `manifests[${i}]`));
    return { kind: 'index', index: { ...(json as unknown as ImageIndex), manifests } };
  }
  if (!Array.isArray(json.layers)) throw bad(subject, `unsupported manifest media type "${mt}"`);
  const config = checkDescriptor(json.config, subject, 'config');
  const layers = json.layers.map((d, i) => checkDescriptor(d, subject, `layers[${i}]`));
  return { kind: 'manifest', manifest: { ...(json as unknown as ImageManifest), config, layers } };
}

/** Parses an image configuration; attestation configs (`{}`-like) are accepted with defaults filled. */
export function parseConfig(bytes: Uint8Array, subject: string): ImageConfig {
  let json: Partial<ImageConfig>;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<ImageConfig>;
  } catch {
    throw new MobyError(`${subject}: the image configuration is not valid JSON`, { code: 'IMAGE_CONFIG' });
  }
  if (json === null || typeof json !== 'object') throw new MobyError(`${subject}: the image configuration is not an object`, { code: 'IMAGE_CONFIG' });
  return {
    ...json,
    architecture: json.architecture ?? '',
    os: json.os ?? '',
    rootfs: json.rootfs ?? { type: 'layers', diff_ids: [] },
  };
}
