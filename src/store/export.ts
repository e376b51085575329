/**
 * `mobyts cache export --format docker` (docs/linuxkit-behaviour.md#cache-cmd); `oci` is archive.ts, `filesystem`
 * src/image/export-filesystem.ts (it flattens, which is image/'s job).
 *
 * - `docker`: what `docker save` (25 and later) writes and `docker load` reads: an OCI layout holding the one
 *   platform's manifest, config and layers, plus `manifest.json` (`Config`, `RepoTags`, `Layers` as blob
 *   paths), so both older and newer loaders and `skopeo copy docker-archive:` accept it;
 * The platform is chosen from a cached index as builds choose it; every blob must be in the cache.
 */
import { Readable, type Writable } from 'node:stream';
import type { Digest } from '../oci/digest.ts';
import { MediaType, REF_NAME_ANNOTATION, type Descriptor, type ImageIndex, type Platform } from '../oci/types.ts';
import type { TarEntry, TarHeader } from '../tar/entry.ts';
import { writeTar } from '../tar/write.ts';
import { MobyError } from '../util/errors.ts';
import type { Layout } from './layout.ts';
import { parseManifest } from './manifest.ts';
import { formatPlatform, selectManifest } from './platform.ts';

const CONTAINERD_NAME = 'io.containerd.image.name';

function header(name: string, size: number): TarHeader {
  return { name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size };
}

function small(name: string, text: string): TarEntry {
  const bytes = Buffer.from(text);
  return { header: header(name, bytes.length), body: Readable.from([bytes]) };
}

const blobPath = (d: Digest): string => `blobs/${d.replace(':', '/')}`;

/** The platform manifest descriptor `root` stands for on `platform` (root itself when it is a manifest). */
export async function platformManifest(
  layout: Layout,
  root: Descriptor,
  platform: Platform,
  subject: string,
): Promise<Descriptor> {
  const parsed = parseManifest(await layout.readBlob(root.digest, root.size), root.mediaType, subject);
  return parsed.kind === 'index' ? selectManifest(parsed.index.manifests, platform, subject) : root;
}

async function need(layout: Layout, d: Descriptor, subject: string, platform: Platform): Promise<void> {
  if (!(await layout.hasBlob(d.digest))) {
    throw new MobyError(`${subject}: the cache lacks blob ${d.digest} for ${formatPlatform(platform)}`, {
      code: 'NOT_FOUND',
      hint: 'pull it for that platform first: mobyts cache pull --arch ARCH REF',
    });
  }
}

/** Writes `root`'s image for `platform` as a docker-load archive named `name`; resolves with the blob count and bytes. */
export async function exportDocker(
  layout: Layout,
  root: Descriptor,
  a: { name: string; platform: Platform; out: Writable },
): Promise<{ blobs: number; bytes: number }> {
  const subject = `Cannot export "${a.name}"`;
  const chosen = await platformManifest(layout, root, a.platform, subject);
  await need(layout, chosen, subject, a.platform);
  const parsed = parseManifest(await layout.readBlob(chosen.digest, chosen.size), chosen.mediaType, subject);
  if (parsed.kind !== 'manifest')
    throw new MobyError(`${subject}: nested indexes cannot be exported for docker`, { code: 'STORE' });
  const blobs = [parsed.manifest.config, ...parsed.manifest.layers];
  for (const b of blobs) await need(layout, b, subject, a.platform);
  const manifestDesc: Descriptor = {
    mediaType: chosen.mediaType,
    digest: chosen.digest,
    size: chosen.size,
    annotations: { [REF_NAME_ANNOTATION]: a.name, [CONTAINERD_NAME]: a.name },
  };
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: [manifestDesc] };
  const dockerManifest = [
    {
      Config: blobPath(parsed.manifest.config.digest),
      RepoTags: [a.name],
      Layers: parsed.manifest.layers.map((l) => blobPath(l.digest)),
    },
  ];
  const all = [chosen, ...blobs].filter((d, i, arr) => arr.findIndex((x) => x.digest === d.digest) === i);
  async function* entries(): AsyncGenerator<TarEntry> {
    yield small('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    yield small('index.json', JSON.stringify(index));
    yield small('manifest.json', JSON.stringify(dockerManifest));
    for (const d of all)
      yield { header: header(blobPath(d.digest), d.size), body: await layout.openBlob(d.digest, d.size) };
  }
  await writeTar(entries(), a.out);
  return { blobs: all.length, bytes: all.reduce((n, d) => n + d.size, 0) };
}
