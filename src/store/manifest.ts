/**
 * Narrowing manifest and image-configuration JSON (bytes already digest-checked) into the OCI types: index
 * vs manifest by mediaType or shape, every field the build reads checked for its type, and bounds on what a
 * registry can make us read (docs/compat.md "Limits"): manifests, indexes and configurations of at most
 * 4 MiB (the distribution spec's client limit; the registry client stops reading past it), at most
 * MAX_LAYERS layers and MAX_INDEX_ENTRIES index entries. Every refusal names the field. Docker v2 schema 1
 * is refused.
 */
import { isDigest } from '../oci/digest.ts';
import {
  MAX_MANIFEST_BYTES,
  MediaType,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
} from '../oci/types.ts';
import { MobyError } from '../util/errors.ts';

export type ParsedManifest = { kind: 'index'; index: ImageIndex } | { kind: 'manifest'; manifest: ImageManifest };

/** Most layers an image may have (Docker refuses more than 127 on overlayfs; this leaves room). */
export const MAX_LAYERS = 256;
/** Most entries an index may list (each is a manifest fetched and stored). */
export const MAX_INDEX_ENTRIES = 1024;

const INDEX_TYPES = new Set<string>([MediaType.OCI_INDEX, MediaType.DOCKER_MANIFEST_LIST]);
const MANIFEST_TYPES = new Set<string>([MediaType.OCI_MANIFEST, MediaType.DOCKER_MANIFEST]);

export function isIndexMediaType(mt: string): boolean {
  return INDEX_TYPES.has(mt);
}

function bad(subject: string, why: string): MobyError {
  return new MobyError(`${subject}: ${why}`, { code: 'REGISTRY' });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function mib(n: number): string {
  return `${n} bytes, more than the ${MAX_MANIFEST_BYTES / 1024 / 1024} MiB (${MAX_MANIFEST_BYTES} bytes) limit`;
}

/** A string-to-string map (annotations, labels), or the first offending key. */
function stringMap(v: unknown, where: string): string | undefined {
  if (!isObject(v)) return `${where} is not an object (got ${show(v)})`;
  const key = Object.keys(v).find((k) => typeof v[k] !== 'string');
  return key === undefined ? undefined : `${where}[${JSON.stringify(key)}] is not a string (got ${show(v[key])})`;
}

function descriptorProblem(o: unknown, where: string, maxSize?: number): string | undefined {
  if (!isObject(o)) return `${where} is not a descriptor object (got ${show(o)})`;
  if (typeof o.mediaType !== 'string')
    return `${where}.mediaType is missing or not a string (got ${show(o.mediaType)})`;
  if (typeof o.digest !== 'string' || !isDigest(o.digest))
    return `${where}.digest is not a valid digest (got ${show(o.digest)})`;
  if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 0)
    return `${where}.size is not a non-negative integer (got ${show(o.size)})`;
  if (maxSize !== undefined && o.size > maxSize) return `${where}.size is ${mib(o.size)}`;
  if (o.annotations !== undefined) {
    const p = stringMap(o.annotations, `${where}.annotations`);
    if (p !== undefined) return p;
  }
  if (o.platform !== undefined) {
    if (!isObject(o.platform)) return `${where}.platform is not an object (got ${show(o.platform)})`;
    for (const k of ['architecture', 'os', 'variant', 'os.version'] as const) {
      if (o.platform[k] !== undefined && typeof o.platform[k] !== 'string')
        return `${where}.platform.${k} is not a string (got ${show(o.platform[k])})`;
    }
  }
  if (o.urls !== undefined && (!Array.isArray(o.urls) || o.urls.some((u) => typeof u !== 'string')))
    return `${where}.urls is not a list of strings`;
  return undefined;
}

function checkDescriptor(d: unknown, subject: string, where: string, maxSize?: number): Descriptor {
  const problem = descriptorProblem(d, where, maxSize);
  if (problem !== undefined) throw bad(subject, problem);
  return d as Descriptor;
}

function checkList(v: unknown, subject: string, where: string, max: number): unknown[] {
  if (!Array.isArray(v)) throw bad(subject, `${where} is not a list (got ${show(v)})`);
  if (v.length > max) throw bad(subject, `${where} has ${v.length} entries, more than the ${max} mobyts accepts`);
  return v;
}

/** Parses manifest bytes; `mediaType` is the descriptor's, used when the JSON lacks one. */
export function parseManifest(bytes: Uint8Array, mediaType: string, subject: string): ParsedManifest {
  if (bytes.length > MAX_MANIFEST_BYTES) throw bad(subject, `the manifest is ${mib(bytes.length)}`);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw bad(subject, 'the manifest is not valid JSON');
  }
  if (!isObject(json)) throw bad(subject, `the manifest is not a JSON object (got ${show(json)})`);
  if (json.schemaVersion === 1)
    throw bad(subject, 'Docker image manifest v2 schema 1 is not supported (re-push the image with a current tool)');
  if (json.schemaVersion !== undefined && json.schemaVersion !== 2)
    throw bad(subject, `schemaVersion is ${show(json.schemaVersion)}, expected 2`);
  if (json.mediaType !== undefined && typeof json.mediaType !== 'string')
    throw bad(subject, `mediaType is not a string (got ${show(json.mediaType)})`);
  if (json.annotations !== undefined) {
    const p = stringMap(json.annotations, 'annotations');
    if (p !== undefined) throw bad(subject, p);
  }
  const mt = typeof json.mediaType === 'string' ? json.mediaType : mediaType;
  if (INDEX_TYPES.has(mt) || (!MANIFEST_TYPES.has(mt) && json.manifests !== undefined)) {
    if (json.manifests === undefined) throw bad(subject, 'the index has no manifests list');
    const list = checkList(json.manifests, subject, 'manifests', MAX_INDEX_ENTRIES);
    const manifests = list.map((d, i) => checkDescriptor(d, subject, `manifests[${i}]`, MAX_MANIFEST_BYTES));
    return { kind: 'index', index: { ...(json as unknown as ImageIndex), manifests } };
  }
  if (json.layers === undefined) throw bad(subject, `unsupported manifest media type "${mt}" (no layers list)`);
  const config = checkDescriptor(json.config, subject, 'config', MAX_MANIFEST_BYTES);
  const layers = checkList(json.layers, subject, 'layers', MAX_LAYERS).map((d, i) =>
    checkDescriptor(d, subject, `layers[${i}]`),
  );
  if (json.subject !== undefined) checkDescriptor(json.subject, subject, 'subject');
  return { kind: 'manifest', manifest: { ...(json as unknown as ImageManifest), config, layers } };
}

function stringList(v: unknown, where: string, nullable: boolean): string | undefined {
  if (v === undefined || (nullable && v === null)) return undefined;
  if (!Array.isArray(v)) return `${where} is not a list of strings (got ${show(v)})`;
  const i = v.findIndex((s) => typeof s !== 'string');
  return i < 0 ? undefined : `${where}[${i}] is not a string (got ${show(v[i])})`;
}

/** The first field of the configuration's `config` object the build would misread, if any. */
function containerConfigProblem(c: unknown): string | undefined {
  if (c === undefined || c === null) return undefined;
  if (!isObject(c)) return `config is not an object (got ${show(c)})`;
  for (const k of ['User', 'WorkingDir', 'StopSignal'])
    if (c[k] !== undefined && typeof c[k] !== 'string') return `config.${k} is not a string (got ${show(c[k])})`;
  for (const k of ['Env', 'Entrypoint', 'Cmd']) {
    const p = stringList(c[k], `config.${k}`, true);
    if (p !== undefined) return p;
  }
  if (c.Labels !== undefined && c.Labels !== null) {
    const p = stringMap(c.Labels, 'config.Labels');
    if (p !== undefined) return p;
  }
  for (const k of ['ExposedPorts', 'Volumes'])
    if (c[k] !== undefined && c[k] !== null && !isObject(c[k]))
      return `config.${k} is not an object (got ${show(c[k])})`;
  return undefined;
}

function configProblem(json: Record<string, unknown>): string | undefined {
  for (const k of ['architecture', 'os', 'variant', 'created'])
    if (json[k] !== undefined && typeof json[k] !== 'string') return `${k} is not a string (got ${show(json[k])})`;
  const c = containerConfigProblem(json.config);
  if (c !== undefined) return c;
  if (json.rootfs !== undefined) {
    if (!isObject(json.rootfs)) return `rootfs is not an object (got ${show(json.rootfs)})`;
    const ids = json.rootfs.diff_ids;
    if (ids !== undefined) {
      if (!Array.isArray(ids)) return `rootfs.diff_ids is not a list (got ${show(ids)})`;
      if (ids.length > MAX_LAYERS)
        return `rootfs.diff_ids has ${ids.length} entries, more than the ${MAX_LAYERS} mobyts accepts`;
      const i = ids.findIndex((d) => typeof d !== 'string' || !isDigest(d));
      if (i >= 0) return `rootfs.diff_ids[${i}] is not a valid digest (got ${show(ids[i])})`;
    }
  }
  if (json.history !== undefined && !Array.isArray(json.history))
    return `history is not a list (got ${show(json.history)})`;
  return undefined;
}

/** Parses an image configuration; attestation configs (`{}`-like) are accepted with defaults filled. */
export function parseConfig(bytes: Uint8Array, subject: string): ImageConfig {
  if (bytes.length > MAX_MANIFEST_BYTES)
    throw new MobyError(`${subject}: the image configuration is ${mib(bytes.length)}`, { code: 'IMAGE_CONFIG' });
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new MobyError(`${subject}: the image configuration is not valid JSON`, { code: 'IMAGE_CONFIG' });
  }
  if (!isObject(json))
    throw new MobyError(`${subject}: the image configuration is not an object`, { code: 'IMAGE_CONFIG' });
  const problem = configProblem(json);
  if (problem !== undefined)
    throw new MobyError(`${subject}: the image configuration's ${problem}`, { code: 'IMAGE_CONFIG' });
  const config = json as Partial<ImageConfig>;
  return {
    ...config,
    architecture: config.architecture ?? '',
    os: config.os ?? '',
    rootfs: { type: 'layers', diff_ids: [], ...config.rootfs },
  };
}
