/**
 * A volume with `format: oci` (docs/linuxkit-behaviour.md#volumes): its `lower/` holds an OCI image layout —
 * `oci-layout`, `index.json` (one manifest per platform, annotated with the reference), `blobs/sha256/<hex>` for every
 * manifest, config and layer — instead of the unpacked filesystem. Blobs stream from the image source,
 * verified against their digests as they are read.
 *
 * Difference from LinuxKit: without `platforms:` the layout holds the build's `--arch` platform (LinuxKit:
 * every platform of the index).
 */
import type { Readable } from 'node:stream';
import type { ImageSource } from '../image/source.ts';
import { digestHex, type Digest } from '../oci/digest.ts';
import { MediaType, REF_NAME_ANNOTATION, type Descriptor, type ImageIndex, type Platform } from '../oci/types.ts';
import type { EntryStream, TarEntry } from '../tar/entry.ts';
import { MobyError } from '../util/errors.ts';
import { dirEntry, fileEntry, readBody, withProvenance, type Provenance } from './synth.ts';

/** The platform manifest's descriptor as the image's root (index or manifest) gives it (size and media type). */
async function manifestDescriptor(source: ImageSource): Promise<Descriptor> {
  const root = (source as { rootDescriptor?: Descriptor }).rootDescriptor;
  if (root === undefined)
    throw new MobyError(`Cannot write "${source.ref.expanded}" as an OCI layout: its source has no root descriptor`, {
      code: 'BUILD',
    });
  if (root.digest === source.manifestDigest) return root;
  const index = JSON.parse(
    (
      await readBody({
        header: { name: '', type: 'file', mode: 0, uid: 0, gid: 0, mtime: 0, size: root.size },
        body: await source.openBlob(root.digest, root.size),
      })
    ).toString(),
  ) as ImageIndex;
  const d = index.manifests.find((m) => m.digest === source.manifestDigest);
  if (d === undefined)
    throw new MobyError(
      `Cannot write "${source.ref.expanded}" as an OCI layout: its index does not list ${source.manifestDigest}`,
      { code: 'BUILD' },
    );
  return d;
}

interface Blob {
  digest: Digest;
  size: number;
  open(): Promise<Readable>;
}

function blobHeader(path: string, b: Blob, o: Provenance & { mtime: number }): TarEntry['header'] {
  return withProvenance(
    {
      name: `${path}/blobs/sha256/${digestHex(b.digest)}`,
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: o.mtime,
      size: b.size,
    },
    o,
  );
}

/** The layout of `sources` (one per platform) at `path` (the volume's `lower`). */
export async function* ociLayoutEntries(
  path: string,
  sources: ImageSource[],
  o: Provenance & { mtime: number },
): EntryStream {
  const manifests: Descriptor[] = [];
  const blobs = new Map<Digest, Blob>();
  for (const s of sources) {
    const m = await manifestDescriptor(s);
    const platform: Platform = {
      architecture: s.config.architecture,
      os: s.config.os,
      ...(s.config.variant === undefined ? {} : { variant: s.config.variant }),
    };
    manifests.push({
      mediaType: m.mediaType,
      digest: m.digest,
      size: m.size,
      annotations: { [REF_NAME_ANNOTATION]: o.source },
      platform,
    });
    for (const b of [m, s.manifest.config, ...s.manifest.layers]) {
      if (!blobs.has(b.digest))
        blobs.set(b.digest, { digest: b.digest, size: b.size, open: () => s.openBlob(b.digest, b.size) });
    }
  }
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests };
  yield fileEntry(`${path}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}', o);
  yield fileEntry(`${path}/index.json`, JSON.stringify(index), o);
  yield dirEntry(`${path}/blobs`, o);
  yield dirEntry(`${path}/blobs/sha256`, o);
  for (const b of [...blobs.values()].sort((x, y) => (x.digest < y.digest ? -1 : 1))) {
    yield { header: blobHeader(path, b, o), body: await b.open() };
  }
}
