/**
 * OCI archives in and out of the cache (`mobyts cache export|import`): export writes a tar of an OCI layout
 * (`oci-layout`, `index.json` naming the images with `org.opencontainers.image.ref.name` and
 * `io.containerd.image.name`, `blobs/…`) holding every present blob the images reference; import reads such a
 * tar (from skopeo, buildx `type=oci`, `docker save` ≥ 25) or a legacy `docker save` archive (manifest.json
 * + `<id>/layer.tar`). Imported blobs are verified against their names before they are stored.
 */
import { stat } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import { digestOf, isDigest, type Digest } from '../oci/digest.ts';
import { parseReference } from '../oci/reference.ts';
import { MediaType, REF_NAME_ANNOTATION, type Descriptor, type ImageIndex, type ImageManifest } from '../oci/types.ts';
import { MobyError } from '../util/errors.ts';
import type { TarEntry, TarHeader } from '../tar/entry.ts';
import { readTar } from '../tar/read.ts';
import { writeTar } from '../tar/write.ts';
import type { Layout } from './layout.ts';
import { makeLayerTocs } from './layer-toc.ts';
import { parseManifest } from './manifest.ts';

const CONTAINERD_NAME = 'io.containerd.image.name';

/** Blobs of `root` present in the cache (manifests, configs, layers), sorted. */
async function presentBlobs(layout: Layout, root: Descriptor, out: Set<Digest>): Promise<void> {
  if (!(await layout.hasBlob(root.digest))) return;
  out.add(root.digest);
  const parsed = parseManifest(await layout.readBlob(root.digest), root.mediaType, `Cannot export "${root.digest}"`);
  if (parsed.kind === 'index') {
    for (const c of parsed.index.manifests) await presentBlobs(layout, c, out);
    return;
  }
  for (const b of [parsed.manifest.config, ...parsed.manifest.layers])
    if (await layout.hasBlob(b.digest)) out.add(b.digest);
}

/** Writes an OCI archive of `entries` (index.json descriptors with names) to `out`; the caller ends nothing. */
export async function exportArchive(
  layout: Layout,
  entries: Descriptor[],
  out: Writable,
): Promise<{ blobs: number; bytes: number }> {
  const digests = new Set<Digest>();
  for (const e of entries) await presentBlobs(layout, e, digests);
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.OCI_INDEX,
    manifests: entries.map((e) => ({
      ...e,
      annotations: { ...e.annotations, [CONTAINERD_NAME]: e.annotations?.[REF_NAME_ANNOTATION] ?? '' },
    })),
  };
  const sorted = [...digests].sort();
  const sizes = await Promise.all(sorted.map(async (d) => (await stat(layout.blobPath(d))).size));
  await writeTar(archiveEntries(layout, index, sorted, sizes), out);
  const bytes = sizes.reduce((a, b) => a + b, 0);
  return { blobs: digests.size, bytes };
}

function fileHeader(name: string, size: number): TarHeader {
  return { name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size };
}

/** The archive's entries: oci-layout, index.json, then each blob (opened only when its turn comes). */
async function* archiveEntries(
  layout: Layout,
  index: ImageIndex,
  digests: Digest[],
  sizes: number[],
): AsyncGenerator<TarEntry> {
  for (const [name, body] of [
    ['oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' })],
    ['index.json', JSON.stringify(index)],
  ] as const) {
    const bytes = Buffer.from(body);
    yield { header: fileHeader(name, bytes.length), body: Readable.from([bytes]) };
  }
  for (const [i, d] of digests.entries()) {
    const size = sizes[i] ?? 0;
    yield { header: fileHeader(`blobs/${d.replace(':', '/')}`, size), body: await layout.openBlob(d, size) };
  }
}

interface Collected {
  small: Map<string, Buffer>;
  /** Non-blob files stored as blobs (legacy docker layer.tar), by archive path. */
  stored: Map<string, { digest: Digest; size: number }>;
}

const SMALL = 4 * 1024 * 1024;

function cleanPath(p: string): string {
  return p.replace(/^\.\//, '').replace(/^\/+/, '');
}

async function collectArchive(layout: Layout, input: Readable): Promise<Collected> {
  const c: Collected = { small: new Map(), stored: new Map() };
  for await (const entry of readTar(input, { subject: 'the archive' })) {
    const name = cleanPath(entry.header.name);
    const m = /^blobs\/(sha256|sha512)\/([a-f0-9]+)$/.exec(name);
    if (entry.header.type !== 'file' || entry.body === undefined) {
      entry.body?.resume();
      continue;
    }
    const size = entry.header.size;
    if (m !== null && isDigest(`${m[1]}:${m[2]}`)) {
      const digest = `${m[1]}:${m[2]}` as Digest;
      await layout.writeBlob(entry.body, { digest, size }, { subject: 'Cannot import the archive' });
      c.stored.set(name, { digest, size });
    } else if (size <= SMALL && !name.endsWith('.tar')) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry.body) chunks.push(chunk as Buffer);
      c.small.set(name, Buffer.concat(chunks));
    } else {
      c.stored.set(name, await layout.writeBlob(entry.body));
    }
  }
  return c;
}

/** Imports an OCI or docker-save archive; returns the names it registered in index.json. */
export async function importArchive(layout: Layout, input: Readable): Promise<string[]> {
  const c = await collectArchive(layout, input);
  const index = c.small.get('index.json');
  const named = index !== undefined ? await fromOciIndex(layout, index) : [];
  if (named.length > 0) return register(layout, named);
  const manifestJson = c.small.get('manifest.json');
  if (manifestJson !== undefined) return register(layout, await fromDockerSave(layout, c, manifestJson));
  throw new MobyError(
    'Cannot import the archive: it has neither an OCI index.json naming images nor a docker-save manifest.json',
    {
      code: 'USAGE',
      exitCode: 2,
      hint: 'create it with `mobyts cache export`, `skopeo copy … oci-archive:F:NAME`, or `docker save`',
    },
  );
}

async function fromOciIndex(layout: Layout, bytes: Buffer): Promise<Array<[string, Descriptor]>> {
  const parsed = parseManifest(bytes, MediaType.OCI_INDEX, 'Cannot import the archive');
  if (parsed.kind !== 'index') return [];
  const out: Array<[string, Descriptor]> = [];
  for (const d of parsed.index.manifests) {
    const name = fullName(d.annotations?.[CONTAINERD_NAME]) ?? fullName(d.annotations?.[REF_NAME_ANNOTATION]);
    if (name === undefined) continue;
    if (!(await layout.hasBlob(d.digest)))
      throw new MobyError(`Cannot import "${name}": the archive lacks its manifest ${d.digest}`, { code: 'STORE' });
    out.push([name, { mediaType: d.mediaType, digest: d.digest, size: d.size }]);
  }
  return out;
}

/** The expanded reference when `s` is a full image name (a bare tag like `1.0` is not). */
function fullName(s: string | undefined): string | undefined {
  if (s === undefined || !(s.includes('/') || s.includes(':'))) return undefined;
  try {
    return parseReference(s).expanded;
  } catch {
    return undefined;
  }
}

interface DockerSaveEntry {
  Config?: string;
  RepoTags?: string[] | null;
  Layers?: string[];
}

async function fromDockerSave(layout: Layout, c: Collected, bytes: Buffer): Promise<Array<[string, Descriptor]>> {
  const entries = JSON.parse(bytes.toString('utf8')) as DockerSaveEntry[];
  const out: Array<[string, Descriptor]> = [];
  for (const e of Array.isArray(entries) ? entries : []) {
    const blobOf = async (path: string): Promise<{ digest: Digest; size: number }> => {
      const p = cleanPath(path);
      const stored = c.stored.get(p);
      if (stored !== undefined) return stored;
      const small = c.small.get(p);
      if (small === undefined)
        throw new MobyError(`Cannot import the archive: manifest.json names "${path}", which it does not contain`, {
          code: 'STORE',
        });
      return layout.writeBlob(small);
    };
    if (e.Config === undefined) continue;
    const config = await blobOf(e.Config);
    const layers: Descriptor[] = [];
    for (const l of e.Layers ?? [])
      layers.push({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar', ...(await blobOf(l)) });
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.DOCKER_MANIFEST,
      config: { mediaType: MediaType.DOCKER_CONFIG, ...config },
      layers,
    };
    const mbytes = Buffer.from(JSON.stringify(manifest));
    await layout.writeBlob(mbytes, { digest: digestOf(mbytes), size: mbytes.length });
    for (const tag of e.RepoTags ?? []) {
      const name = fullName(tag);
      if (name !== undefined)
        out.push([name, { mediaType: MediaType.DOCKER_MANIFEST, digest: digestOf(mbytes), size: mbytes.length }]);
    }
  }
  return out;
}

async function register(layout: Layout, named: Array<[string, Descriptor]>): Promise<string[]> {
  await layout.updateIndex((index) => {
    for (const [name, d] of named) {
      index.manifests = index.manifests.filter((x) => x.annotations?.[REF_NAME_ANNOTATION] !== name);
      index.manifests.push({ ...d, annotations: { [REF_NAME_ANNOTATION]: name } });
    }
  });
  // each imported layer's table of contents, made now (as a pull makes it), so builds plan without reading it
  await makeLayerTocs(
    layout,
    named.map(([, d]) => d),
  );
  return named.map(([n]) => n);
}
