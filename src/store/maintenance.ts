/**
 * `mobyts cache` operations over the layout: list named images, remove names, garbage-collect unreferenced
 * blobs, clean, and verify every blob against its digest. Index changes and gc run under the index lock,
 * which pulls also take before naming an image, so a concurrent pull never loses a blob it has named, and
 * which builds take to lease the blobs they use (lease.ts), so gc never deletes a blob a build is reading.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { digestAlgorithm, type Digest } from '../oci/digest.ts';
import { parseReference } from '../oci/reference.ts';
import { REF_NAME_ANNOTATION, type Descriptor, type ImageIndex } from '../oci/types.ts';
import { MobyError } from '../util/errors.ts';
import { tocDir } from './image-tocs.ts';
import type { Layout } from './layout.ts';
import { layerTocKey } from './layer-toc.ts';
import { leasedDigests } from './lease.ts';
import { parseManifest } from './manifest.ts';
import { formatPlatform, isAttestation } from './platform.ts';

export interface CachedImageInfo {
  name: string;
  descriptor: Descriptor;
  /** Platforms whose config and layers are all present. */
  platforms: string[];
  /** Bytes of this image's blobs present in the cache (shared blobs counted for each image). */
  size: number;
}

/** Digests reachable from `roots` (manifests read when present), with whether each platform is complete. */
async function walk(
  layout: Layout,
  roots: Descriptor[],
): Promise<{ reachable: Set<Digest>; complete: Map<Digest, string[]> }> {
  const reachable = new Set<Digest>();
  const complete = new Map<Digest, string[]>();
  const visit = async (d: Descriptor): Promise<boolean> => {
    reachable.add(d.digest);
    if (!(await layout.hasBlob(d.digest))) return false;
    let parsed;
    try {
      parsed = parseManifest(await layout.readBlob(d.digest), d.mediaType, `Cannot read cached manifest "${d.digest}"`);
    } catch {
      return false;
    }
    if (parsed.kind === 'index') {
      for (const child of parsed.index.manifests)
        if ((await visit(child)) && !isAttestation(child)) complete.get(d.digest)?.push(formatPlatform(child.platform));
      return true;
    }
    let all = true;
    for (const b of [parsed.manifest.config, ...parsed.manifest.layers]) {
      reachable.add(b.digest);
      if (!(await layout.hasBlob(b.digest))) all = false;
    }
    return all;
  };
  for (const root of roots) {
    complete.set(root.digest, []);
    if ((await visit(root)) && !isIndexDescriptor(root)) complete.get(root.digest)?.push('single-platform');
  }
  return { reachable, complete };
}

function isIndexDescriptor(d: Descriptor): boolean {
  return d.mediaType.includes('index') || d.mediaType.includes('manifest.list');
}

async function sizeOf(layout: Layout, digests: Iterable<Digest>): Promise<number> {
  let n = 0;
  for (const d of digests)
    n += await stat(layout.blobPath(d)).then(
      (s) => s.size,
      () => 0,
    );
  return n;
}

/** Named images in index.json order. */
export async function listImages(layout: Layout): Promise<CachedImageInfo[]> {
  const index = await layout.readIndex();
  const out: CachedImageInfo[] = [];
  for (const d of index.manifests) {
    const { reachable, complete } = await walk(layout, [d]);
    out.push({
      name: d.annotations?.[REF_NAME_ANNOTATION] ?? '<unnamed>',
      descriptor: d,
      platforms: complete.get(d.digest) ?? [],
      size: await sizeOf(layout, reachable),
    });
  }
  return out;
}

/** The index name a user's reference means (`alpine` → `docker.io/library/alpine`); exact names also match. */
function matchName(index: ImageIndex, wanted: string): string | undefined {
  const names = index.manifests
    .map((d) => d.annotations?.[REF_NAME_ANNOTATION])
    .filter((n): n is string => n !== undefined);
  if (names.includes(wanted)) return wanted;
  let expanded: string;
  try {
    expanded = parseReference(wanted).expanded;
  } catch {
    return undefined;
  }
  return names.find((n) => n === expanded || n === `${expanded}:latest`);
}

export interface GcResult {
  blobs: number;
  bytes: number;
}

/** Removes the index entries for `refs` and collects blobs nothing references any more. */
export async function removeImages(layout: Layout, refs: string[]): Promise<{ removed: string[] } & GcResult> {
  return layout.updateIndex(async (index) => {
    const removed: string[] = [];
    for (const r of refs) {
      const name = matchName(index, r);
      if (name === undefined)
        throw new MobyError(`Cannot remove "${r}": it is not in the cache at "${layout.dir}"`, {
          code: 'NOT_FOUND',
          hint: 'see `mobyts cache ls`',
        });
      index.manifests = index.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== name);
      removed.push(name);
    }
    return { removed, ...(await collect(layout, index)) };
  });
}

/** Removes every name and every blob. */
export async function cleanCache(layout: Layout): Promise<{ images: number } & GcResult> {
  return layout.updateIndex(async (index) => {
    const images = index.manifests.length;
    index.manifests = [];
    return { images, ...(await collect(layout, index)) };
  });
}

/** Deletes blobs unreachable from `index` and leased by no running build (caller holds the index lock). */
async function collect(layout: Layout, index: ImageIndex): Promise<GcResult> {
  const { reachable } = await walk(layout, index.manifests);
  const leased = await leasedDigests(layout.dir);
  let blobs = 0;
  let bytes = 0;
  for (const d of await layout.listBlobs()) {
    if (reachable.has(d) || leased.has(d)) continue;
    bytes += await sizeOf(layout, [d]);
    blobs++;
    await layout.removeBlob(d);
    // a removed layer's table of contents goes with it (layer-toc.ts keys it by the layer's digest)
    await rm(join(tocDir(layout.dir), `${layerTocKey(d)}.json`), { force: true });
  }
  return { blobs, bytes };
}

export interface VerifyProblem {
  subject: string;
  problem: string;
}

export interface VerifyReport {
  blobs: number;
  bytes: number;
  images: number;
  problems: VerifyProblem[];
}

/** Re-hashes every blob and checks every named image's manifests are present; never changes the cache. */
export async function verifyCache(layout: Layout): Promise<VerifyReport> {
  const problems: VerifyProblem[] = [];
  let bytes = 0;
  const blobs = await layout.listBlobs();
  for (const d of blobs) {
    const { digest, size } = await hashFile(layout.blobPath(d), digestAlgorithm(d));
    bytes += size;
    if (digest !== d) problems.push({ subject: `blob ${d}`, problem: `content has digest ${digest}` });
  }
  const index = await layout.readIndex();
  for (const root of index.manifests) {
    const name = root.annotations?.[REF_NAME_ANNOTATION] ?? root.digest;
    if (!(await layout.hasBlob(root.digest)))
      problems.push({ subject: `image ${name}`, problem: `its manifest ${root.digest} is missing` });
    else if ((await walk(layout, [root])).complete.get(root.digest)?.length === 0)
      problems.push({ subject: `image ${name}`, problem: 'no platform has all its blobs' });
  }
  return { blobs: blobs.length, bytes, images: index.manifests.length, problems };
}

async function hashFile(path: string, alg: 'sha256' | 'sha512'): Promise<{ digest: string; size: number }> {
  const hash = createHash(alg);
  let size = 0;
  for await (const c of createReadStream(path)) {
    hash.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { digest: `${alg}:${hash.digest('hex')}`, size };
}
