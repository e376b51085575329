/**
 * Reading an image out of the cache without network (LinuxKit's ValidateImage, docs/linuxkit-behaviour.md#cache): the
 * ref's index entry, its manifests, config and the platform's layers must all be present. Layers are checked for
 * presence only (trusted: verified when written); manifests and config are small and re-read.
 */
import { stat } from 'node:fs/promises';
import type { Digest } from '../oci/digest.ts';
import { withDigest, type Reference } from '../oci/reference.ts';
import type { Descriptor, ImageManifest, Platform } from '../oci/types.ts';
import { storeImageSource, type Attestation, type StoreImageSource } from './store-source.ts';
import { refDescriptors, type Layout } from './layout.ts';
import { parseConfig, parseManifest } from './manifest.ts';
import { isAttestation, selectManifest } from './platform.ts';

/** The descriptor the cache holds for `ref`: by digest when pinned (index entry or bare blob), else by name. */
export async function cachedRoot(layout: Layout, ref: Reference): Promise<Descriptor | undefined> {
  const index = await layout.readIndex();
  if (ref.digest !== undefined) {
    const named = index.manifests.find((d) => d.digest === ref.digest);
    if (named !== undefined) return named;
    return bareManifestDescriptor(layout, ref.digest);
  }
  return refDescriptors(index, ref.expanded)[0];
}

async function bareManifestDescriptor(layout: Layout, digest: Digest): Promise<Descriptor | undefined> {
  if (!await layout.hasBlob(digest)) return undefined;
  const size = (await stat(layout.blobPath(digest))).size;
  const parsed = parseManifest(await layout.readBlob(digest, size), '', `Cannot read cached manifest "${digest}"`);
  const mediaType = parsed.kind === 'index' ? parsed.index.mediaType : parsed.manifest.mediaType;
  return { mediaType: mediaType ?? (parsed.kind === 'index' ? 'application/vnd.oci.image.index.v1+json' : 'application/vnd.oci.image.manifest.v1+json'), digest, size };
}

async function allPresent(layout: Layout, descs: Descriptor[]): Promise<boolean> {
  const present = await Promise.all(descs.map((d) => layout.hasBlob(d.digest)));
  return present.every(Boolean);
}

async function readManifest(layout: Layout, d: Descriptor, subject: string): Promise<ImageManifest | undefined> {
  if (!await layout.hasBlob(d.digest)) return undefined;
  const parsed = parseManifest(await layout.readBlob(d.digest, d.size), d.mediaType, subject);
  return parsed.kind === 'manifest' ? parsed.manifest : undefined;
}

/**
 * The image `root` describes, for `platform`, when everything it needs is cached; undefined when something
 * is missing. Throws PLATFORM when the cached index has no manifest for the platform.
 */
export async function sourceFromCache(layout: Layout, a: { ref: Reference; root: Descriptor; platform: Platform; subject: string }): Promise<StoreImageSource | undefined> {
  if (!await layout.hasBlob(a.root.digest)) return undefined;
  const parsed = parseManifest(await layout.readBlob(a.root.digest, a.root.size), a.root.mediaType, a.subject);
  let chosen = a.root;
  let attestations: Attestation[] = [];
  let manifest: ImageManifest | undefined;
  if (parsed.kind === 'index') {
    chosen = selectManifest(parsed.index.manifests, a.platform, a.subject);
    manifest = await readManifest(layout, chosen, a.subject);
    attestations = await cachedAttestations(layout, parsed.index.manifests, chosen.digest, a.subject);
  } else {
    manifest = parsed.manifest;
  }
  if (manifest === undefined || !await allPresent(layout, [manifest.config, ...manifest.layers])) return undefined;
  const config = parseConfig(await layout.readBlob(manifest.config.digest, manifest.config.size), a.subject);
  return storeImageSource({
    ref: a.ref.digest === a.root.digest ? a.ref : withDigest(a.ref, a.root.digest),
    rootDescriptor: a.root,
    platform: a.platform,
    manifestDigest: chosen.digest,
    manifest,
    config,
    attestations,
    openBlob: (d, size) => layout.openBlob(d, size),
  });
}

/** Index entries that attest `imageDigest` (BuildKit's `vnd.docker.reference.digest`). */
export function attestationsFor(manifests: Descriptor[], imageDigest: Digest): Descriptor[] {
  return manifests.filter((d) => isAttestation(d) && d.annotations?.['vnd.docker.reference.digest'] === imageDigest);
}

async function cachedAttestations(layout: Layout, manifests: Descriptor[], imageDigest: Digest, subject: string): Promise<Attestation[]> {
  const out: Attestation[] = [];
  for (const descriptor of attestationsFor(manifests, imageDigest)) {
    const manifest = await readManifest(layout, descriptor, subject);
    if (manifest !== undefined && await allPresent(layout, manifest.layers)) out.push({ descriptor, manifest });
  }
  return out;
}
