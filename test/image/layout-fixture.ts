/** Generates small OCI image layouts on disk from entry lists: real tars (our writer), real gzip/zstd. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { digestHex, digestOf, type Digest } from '../../src/oci/digest.ts';
import { MediaType, REF_NAME_ANNOTATION, type Descriptor } from '../../src/oci/types.ts';
import type { TarEntry, TarHeader } from '../../src/tar/entry.ts';
import { tarBytes } from '../../src/tar/write.ts';
import { entryStreamOf } from '../../src/tar/streams.ts';

export type Spec = Partial<TarHeader> & { name: string; data?: string };

export const T0 = 1492533000;

function entry(s: Spec): TarEntry {
  const type = s.type ?? (s.data !== undefined ? 'file' : 'directory');
  const size = s.data === undefined ? 0 : Buffer.byteLength(s.data);
  const header: TarHeader = { mode: type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: T0, ...s, type, size };
  delete (header as { data?: string }).data;
  return s.data === undefined ? { header } : { header, body: Readable.from([Buffer.from(s.data)]) };
}

export async function tarOf(specs: Spec[]): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of tarBytes(entryStreamOf(specs.map(entry)))) out.push(c);
  return Buffer.concat(out);
}

export type Compression = 'gzip' | 'zstd' | 'none';

function writeBlob(dir: string, data: Buffer | string): { digest: Digest; size: number } {
  const digest = digestOf(data);
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'blobs', 'sha256', digestHex(digest)), data);
  return { digest, size: Buffer.byteLength(data) };
}

const LAYER_TYPES: Record<Compression, string> = {
  gzip: MediaType.OCI_LAYER_GZIP,
  zstd: MediaType.OCI_LAYER_ZSTD,
  none: MediaType.OCI_LAYER,
};

/**
 * Writes an OCI layout at `dir` holding one image named `ref` (bottom layer first in `layers`), wrapped in an
 * index for linux/amd64 + linux/arm64 (the arm64 entry points at the same manifest).
 */
export async function writeLayout(
  dir: string,
  ref: string,
  layers: Spec[][],
  compression: Compression = 'gzip',
): Promise<{ manifest: Digest; layers: Descriptor[] }> {
  const descs: Descriptor[] = [];
  const diffIds: Digest[] = [];
  for (const specs of layers) {
    const tar = await tarOf(specs);
    diffIds.push(digestOf(tar));
    const blob = compression === 'gzip' ? gzipSync(tar) : compression === 'zstd' ? zstdCompressSync(tar) : tar;
    descs.push({ mediaType: LAYER_TYPES[compression], ...writeBlob(dir, blob) });
  }
  const config = writeBlob(
    dir,
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } }),
  );
  const manifest = writeBlob(
    dir,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OCI_MANIFEST,
      config: { mediaType: MediaType.OCI_CONFIG, ...config },
      layers: descs,
    }),
  );
  const index = writeBlob(
    dir,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OCI_INDEX,
      manifests: [{ mediaType: MediaType.OCI_MANIFEST, ...manifest, platform: { os: 'linux', architecture: 'amd64' } }],
    }),
  );
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: MediaType.OCI_INDEX, ...index, annotations: { [REF_NAME_ANNOTATION]: ref } }],
    }),
  );
  return { manifest: manifest.digest, layers: descs };
}
