/**
 * An ImageSource over an OCI image layout directory (image-spec image-layout.md): `oci-layout`,
 * `index.json`, `blobs/<alg>/<hex>`. Read-only; every blob read is verified (oci/verify.ts).
 *
 * `refOrDigest` selects the index.json entry: a digest matches the entry's digest; anything else matches
 * its `org.opencontainers.image.ref.name` annotation, either verbatim, as LinuxKit's expanded reference (the
 * cache's convention), or as the bare tag (the convention of `skopeo copy … oci:dir:tag`).
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { digestAlgorithm, digestHex, isDigest, parseDigest, type Digest } from '../oci/digest.ts';
import { parseReference, type Reference } from '../oci/reference.ts';
import {
  MediaType,
  REF_NAME_ANNOTATION,
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
  type Platform,
} from '../oci/types.ts';
import { verifyStream } from '../oci/verify.ts';
import { MobyError } from '../util/errors.ts';
import type { ImageSource } from './source.ts';

function layoutError(
  dir: string,
  detail: string,
  code: 'NOT_FOUND' | 'IMAGE_CONFIG' | 'PLATFORM' = 'IMAGE_CONFIG',
  cause?: unknown,
): MobyError {
  return new MobyError(`Cannot read OCI layout "${dir}": ${detail}`, {
    code,
    ...(cause === undefined ? {} : { cause }),
  });
}

function openVerified(dir: string, digest: Digest, size: number | undefined): Readable {
  const file = join(dir, 'blobs', digestAlgorithm(digest), digestHex(digest));
  return verifyStream(createReadStream(file), digest, size, { subject: `in ${dir}` });
}

async function readJson(dir: string, d: { digest: Digest; size?: number }): Promise<unknown> {
  try {
    return JSON.parse((await buffer(openVerified(dir, d.digest, d.size))).toString('utf8')) as unknown;
  } catch (err) {
    if (err instanceof MobyError) throw err;
    throw layoutError(dir, `blob ${d.digest} is missing or not JSON`, 'NOT_FOUND', err);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Narrows a descriptor-shaped JSON value; throws naming `where`. */
function descriptor(dir: string, v: unknown, where: string): Descriptor {
  if (!isObject(v) || typeof v.mediaType !== 'string' || typeof v.digest !== 'string' || typeof v.size !== 'number') {
    throw layoutError(dir, `${where} is not a descriptor`);
  }
  return { ...(v as unknown as Descriptor), digest: parseDigest(v.digest) };
}

function descriptors(dir: string, v: unknown, key: string, where: string): Descriptor[] {
  const list = isObject(v) ? v[key] : undefined;
  if (!Array.isArray(list)) throw layoutError(dir, `${where} has no "${key}" list`);
  return list.map((d, i) => descriptor(dir, d, `${where} ${key}[${i}]`));
}

async function readIndexJson(dir: string): Promise<Descriptor[]> {
  let text: string;
  try {
    text = await readFile(join(dir, 'index.json'), 'utf8');
  } catch (err) {
    throw layoutError(dir, 'no index.json (not an OCI image layout)', 'NOT_FOUND', err);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw layoutError(dir, 'index.json is not JSON', 'IMAGE_CONFIG', err);
  }
  return descriptors(dir, doc, 'manifests', 'index.json');
}

function refNames(input: string): string[] {
  try {
    const ref = parseReference(input);
    return [input, ref.expanded, ref.tag ?? 'latest'];
  } catch {
    return [input];
  }
}

function pickEntry(dir: string, entries: Descriptor[], refOrDigest: string): Descriptor {
  const byDigest = isDigest(refOrDigest) ? entries.find((d) => d.digest === refOrDigest) : undefined;
  if (byDigest !== undefined) return byDigest;
  for (const name of refNames(refOrDigest)) {
    const hit = entries.find((d) => d.annotations?.[REF_NAME_ANNOTATION] === name);
    if (hit !== undefined) return hit;
  }
  if (isDigest(refOrDigest)) return { mediaType: MediaType.OCI_MANIFEST, digest: refOrDigest, size: -1 };
  const have = entries.map((d) => d.annotations?.[REF_NAME_ANNOTATION] ?? d.digest).join(', ');
  throw layoutError(dir, `no image "${refOrDigest}" in index.json (have ${have || 'nothing'})`, 'NOT_FOUND');
}

function platformMatches(p: Platform | undefined, want: Platform): boolean {
  if (p === undefined) return false;
  return (
    p.os === want.os &&
    p.architecture === want.architecture &&
    (want.variant === undefined || p.variant === undefined || p.variant === want.variant)
  );
}

function isIndex(mediaType: string | undefined, json: unknown): boolean {
  if (mediaType === MediaType.OCI_INDEX || mediaType === MediaType.DOCKER_MANIFEST_LIST) return true;
  return isObject(json) && Array.isArray(json.manifests);
}

async function resolveManifest(
  dir: string,
  entry: Descriptor,
  platform: Platform,
): Promise<{ digest: Digest; manifest: ImageManifest }> {
  const json = await readJson(dir, entry.size < 0 ? { digest: entry.digest } : entry);
  if (!isIndex(entry.mediaType, json)) return { digest: entry.digest, manifest: manifestOf(dir, json) };
  const list = descriptors(dir, json, 'manifests', `index ${entry.digest}`);
  const chosen = list.find((d) => platformMatches(d.platform, platform));
  if (chosen === undefined) {
    const have = list.map((d) => (d.platform ? `${d.platform.os}/${d.platform.architecture}` : '?')).join(', ');
    throw layoutError(dir, `no manifest for ${platform.os}/${platform.architecture} (have ${have})`, 'PLATFORM');
  }
  return resolveManifest(dir, chosen, platform);
}

function manifestOf(dir: string, json: unknown): ImageManifest {
  if (!isObject(json)) throw layoutError(dir, 'manifest is not a JSON object');
  return {
    ...(json as unknown as ImageManifest),
    config: descriptor(dir, json.config, 'manifest config'),
    layers: descriptors(dir, json, 'layers', 'manifest'),
  };
}

function referenceFor(refOrDigest: string, entry: Descriptor, digest: Digest): Reference {
  const name = isDigest(refOrDigest) ? entry.annotations?.[REF_NAME_ANNOTATION] : refOrDigest;
  try {
    if (name !== undefined) return parseReference(name);
  } catch {
    // a bare tag or a free-form name: fall through to a synthetic local name
  }
  return parseReference(`localhost/oci-layout@${digest}`);
}

/**
 * Opens the image `refOrDigest` for `platform` from the layout at `dir`: reads and verifies index → manifest
 * → config up front (MobyError NOT_FOUND / PLATFORM / DIGEST_MISMATCH / IMAGE_CONFIG naming the layout),
 * layers lazily through `openLayer`, verified at end of stream. Nothing is written.
 */
export async function openLayoutImage(dir: string, refOrDigest: string, platform: Platform): Promise<ImageSource> {
  const entry = pickEntry(dir, await readIndexJson(dir), refOrDigest);
  const { digest, manifest } = await resolveManifest(dir, entry, platform);
  const config = (await readJson(dir, manifest.config)) as ImageConfig;
  if (!isObject(config) || !isObject(config.rootfs))
    throw layoutError(dir, `config ${manifest.config.digest} is not an image config`);
  return {
    ref: referenceFor(refOrDigest, entry, digest),
    manifestDigest: digest,
    manifest,
    config,
    openLayer: (layer) => Promise.resolve(openVerified(dir, layer.digest, layer.size)),
    openBlob: (d, size) => Promise.resolve(openVerified(dir, d, size)),
  };
}
