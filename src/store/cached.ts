/**
 * Reading an image out of the cache without network (LinuxKit's ValidateImage, docs/linuxkit-behaviour.md#cache): the ref's
 * index entry, its manifests, config and the platform's layers must all be present and intact. Manifests are
 * re-hashed on every use (they are small); config and layers are re-hashed unless their verified stamp
 * still matches (integrity.ts), so damage on disk is found before a build reads the bytes.
 */
import { stat } from 'node:fs/promises';
import type { Digest } from '../oci/digest.ts';
import { withDigest, type Reference } from '../oci/reference.ts';
import type { Descriptor, ImageManifest, Platform } from '../oci/types.ts';
import { storeImageSource, type Attestation, type StoreImageSource } from './store-source.ts';
import { checkBlob, checkBlobs, type Damage } from './integrity.ts';
import { refDescriptors, type Layout } from './layout.ts';
import type { Lease } from './lease.ts';
import { parseConfig, parseManifest, type ParsedManifest } from './manifest.ts';
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
  const size = await stat(layout.blobPath(digest)).then(
    (st) => st.size,
    () => undefined,
  );
  if (size === undefined || (await checkBlob(layout.dir, layout.blobPath(digest), { digest, size })) !== undefined)
    return undefined;
  const parsed = parseManifest(await layout.readBlob(digest, size), '', `Cannot read cached manifest "${digest}"`);
  const mediaType = parsed.kind === 'index' ? parsed.index.mediaType : parsed.manifest.mediaType;
  return {
    mediaType:
      mediaType ??
      (parsed.kind === 'index'
        ? 'application/vnd.oci.image.index.v1+json'
        : 'application/vnd.oci.image.manifest.v1+json'),
    digest,
    size,
  };
}

async function allPresent(layout: Layout, descs: Descriptor[]): Promise<boolean> {
  const present = await Promise.all(descs.map((d) => layout.hasBlob(d.digest)));
  return present.every(Boolean);
}

async function readManifest(layout: Layout, d: Descriptor, subject: string): Promise<ImageManifest | undefined> {
  if (!(await layout.hasBlob(d.digest))) return undefined;
  const parsed = parseManifest(await layout.readBlob(d.digest, d.size), d.mediaType, subject);
  return parsed.kind === 'manifest' ? parsed.manifest : undefined;
}

/** What the cache holds of an image for one platform. */
export type CachedState =
  /** Not cached for this platform (never pulled for it): an ordinary pull fetches it. */
  | { kind: 'absent' }
  /** Named in the cache but some blob it needs is missing, truncated or altered. */
  | { kind: 'damaged'; damage: Damage[] }
  /** Everything present and intact (checked now, or stamped since it was verified). */
  | { kind: 'complete'; source: StoreImageSource };

/** A manifest blob that checks out: parsed; else its damage. Manifests are small: always checked. */
async function intactManifest(layout: Layout, d: Descriptor, subject: string): Promise<ParsedManifest | Damage> {
  const damage = await checkBlob(layout.dir, layout.blobPath(d.digest), d);
  if (damage !== undefined) return damage;
  return parseManifest(await layout.readBlob(d.digest, d.size), d.mediaType, subject);
}

function isDamage(x: ParsedManifest | Damage): x is Damage {
  return 'problem' in x;
}

interface Structure {
  chosen: Descriptor;
  manifest: ImageManifest;
  attestations: Attestation[];
}

/** Reads the root and platform manifests (checked); the image's structure, or its damage, or absent. */
async function readStructure(
  layout: Layout,
  a: { root: Descriptor; platform: Platform; subject: string },
): Promise<Structure | Damage[] | undefined> {
  const root = await intactManifest(layout, a.root, a.subject);
  if (isDamage(root)) return [root];
  if (root.kind === 'manifest') return { chosen: a.root, manifest: root.manifest, attestations: [] };
  const chosen = selectManifest(root.index.manifests, a.platform, a.subject);
  const child = await intactManifest(layout, chosen, a.subject);
  if (isDamage(child)) return [child];
  if (child.kind !== 'manifest') return undefined;
  return {
    chosen,
    manifest: child.manifest,
    attestations: await cachedAttestations(layout, root.index.manifests, chosen.digest, a.subject),
  };
}

export interface InspectArgs {
  ref: Reference;
  platform: Platform;
  /** Starts error messages (`Cannot pull "REF"`). */
  subject: string;
  /** The image's root descriptor; default: what the index names `ref`. */
  root?: Descriptor;
  lease?: Lease;
}

/**
 * The state of the image `ref` names, for `platform`. Holding the index lock, it reads the manifests
 * and adds every blob the image uses to `lease` (so no gc removes them from then on); then it checks the
 * config and layers (integrity.ts) outside the lock. Throws PLATFORM when the cached index has no manifest
 * for the platform, DamagedIndexError when index.json is garbage.
 */
export async function inspectCached(layout: Layout, a: InspectArgs): Promise<CachedState> {
  const found = await layout.withIndexLock(async () => {
    const root = a.root ?? (await cachedRoot(layout, a.ref));
    if (root === undefined) return undefined;
    const structure = await readStructure(layout, { root, platform: a.platform, subject: a.subject });
    if (structure === undefined || Array.isArray(structure)) return { root, structure };
    const { manifest } = structure;
    const present = await Promise.all([manifest.config, ...manifest.layers].map((d) => layout.hasBlob(d.digest)));
    if (present.every((p) => !p)) return { root, structure: undefined }; // this platform was never pulled
    await a.lease?.add([
      root.digest,
      structure.chosen.digest,
      manifest.config.digest,
      ...manifest.layers.map((l) => l.digest),
      ...structure.attestations.flatMap((t) => [t.descriptor.digest, ...t.manifest.layers.map((l) => l.digest)]),
    ]);
    return { root, structure };
  });
  if (found === undefined || found.structure === undefined) return { kind: 'absent' };
  if (Array.isArray(found.structure)) return { kind: 'damaged', damage: found.structure };
  const { manifest, chosen, attestations } = found.structure;
  const damage = await checkBlobs(layout.dir, (d) => layout.blobPath(d), [manifest.config, ...manifest.layers]);
  if (damage.length > 0) return { kind: 'damaged', damage };
  const config = parseConfig(await layout.readBlob(manifest.config.digest, manifest.config.size), a.subject);
  return {
    kind: 'complete',
    source: storeImageSource({
      ref: a.ref.digest === found.root.digest ? a.ref : withDigest(a.ref, found.root.digest),
      rootDescriptor: found.root,
      platform: a.platform,
      manifestDigest: chosen.digest,
      manifest,
      config,
      attestations,
      openBlob: (d, size) => layout.openBlob(d, size),
    }),
  };
}

/** The cached image for `platform` when complete and intact, else undefined (see inspectCached). */
export async function sourceFromCache(layout: Layout, a: InspectArgs): Promise<StoreImageSource | undefined> {
  const state = await inspectCached(layout, a);
  return state.kind === 'complete' ? state.source : undefined;
}

/** Index entries that attest `imageDigest` (BuildKit's `vnd.docker.reference.digest`). */
export function attestationsFor(manifests: Descriptor[], imageDigest: Digest): Descriptor[] {
  return manifests.filter((d) => isAttestation(d) && d.annotations?.['vnd.docker.reference.digest'] === imageDigest);
}

async function cachedAttestations(
  layout: Layout,
  manifests: Descriptor[],
  imageDigest: Digest,
  subject: string,
): Promise<Attestation[]> {
  const out: Attestation[] = [];
  for (const descriptor of attestationsFor(manifests, imageDigest)) {
    const manifest = await readManifest(layout, descriptor, subject);
    if (manifest !== undefined && (await allPresent(layout, manifest.layers))) out.push({ descriptor, manifest });
  }
  return out;
}
