/**
 * Generated test images (docs/architecture.md#testing: generators, not committed blobs).
 *
 *   const img = await buildImage({                          // one platform image
 *     platform: { architecture: 'arm64' },                  // default linux/amd64
 *     mediaTypes: 'docker',                                 // default 'oci'
 *     layers: [randomLayer(), { compression: 'zstd', entries: [
 *       { type: 'dir', path: 'etc', mode: 0o755 },
 *       { type: 'file', path: 'etc/motd', content: 'hi\n', mode: 0o644, xattrs: { 'user.k': 'v' } },
 *       { type: 'symlink', path: 'etc/link', target: 'motd' },
 *       { type: 'hardlink', path: 'etc/hard', target: 'etc/motd' },
 *       { type: 'whiteout', path: 'usr/old' },              // writes usr/.wh.old
 *       { type: 'opaque', path: 'var/lib' },                // writes var/lib/.wh..wh..opq
 *     ] }],
 *     config: { Entrypoint: ['/bin/sh'], Cmd: ['-c', 'true'], Env: ['A=1'], WorkingDir: '/', Labels: { x: 'y' } },
 *   });
 *   const idx = await buildIndex([{ platform: { architecture: 'amd64' } }, { platform: { architecture: 'arm64' } }],
 *                               { attestations: true });    // adds SPDX attestation manifests (unknown/unknown)
 *   await pushImage(reg.host, 'team/app:1.0', idx);         // with the project's registry client (push)
 *   await pushImage(reg.host, 'p/app:1', img, { credentials: reg.credentials, registry: reg.registryOptions });
 *                                                           // auth'd (htpasswd/token) or TLS registries
 *   await writeToLayout(dir, 'docker.io/team/app:1.0', idx); // straight into an OCI layout / mobyts cache
 *
 * Every built thing carries its bytes: `blobs` (digest → bytes) holds manifests, configs and compressed layers;
 * each layer also keeps `tar` (uncompressed) and `entries` (what it contains) for assertions.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { digestOf, type Digest } from '../../src/oci/digest.ts';
import { parseReference } from '../../src/oci/reference.ts';
import {
  MediaType,
  REF_NAME_ANNOTATION,
  type ContainerConfig,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type Platform,
} from '../../src/oci/types.ts';
import { createRegistryClient, pushContext } from '../../src/registry/client.ts';
import { staticCredentialStore, type Credential } from '../../src/registry/credentials.ts';
import { openStore } from '../../src/store/index.ts';
import type { RegistryOptions } from '../../src/store/types.ts';
import type { TarEntry, TarHeader } from '../../src/tar/entry.ts';
import { entryStreamOf } from '../../src/tar/streams.ts';
import { tarBytes } from '../../src/tar/write.ts';

export type Compression = 'gzip' | 'zstd' | 'none';

export type EntrySpec =
  | {
      type: 'file';
      path: string;
      content?: string | Buffer;
      mode?: number;
      uid?: number;
      gid?: number;
      mtime?: number;
      xattrs?: Record<string, string | Buffer>;
    }
  | { type: 'dir'; path: string; mode?: number; uid?: number; gid?: number; mtime?: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'hardlink'; path: string; target: string }
  | { type: 'whiteout'; path: string }
  | { type: 'opaque'; path: string };

export interface LayerSpec {
  entries: EntrySpec[];
  compression?: Compression;
}

export interface ImageSpec {
  layers?: LayerSpec[];
  config?: ContainerConfig;
  platform?: Partial<Platform>;
  mediaTypes?: 'oci' | 'docker';
  /** SPDX document to attach as an attestation (buildIndex only). */
  sbom?: unknown;
}

export interface BuiltLayer {
  descriptor: Descriptor;
  diffId: Digest;
  /** Uncompressed tar bytes. */
  tar: Buffer;
  entries: EntrySpec[];
}

export interface BuiltImage {
  kind: 'image';
  descriptor: Descriptor;
  manifest: ImageManifest;
  manifestBytes: Buffer;
  config: ImageConfig;
  configBytes: Buffer;
  layers: BuiltLayer[];
  platform: Platform;
  blobs: Map<Digest, Buffer>;
}

export interface BuiltIndex {
  kind: 'index';
  descriptor: Descriptor;
  index: ImageIndex;
  indexBytes: Buffer;
  images: BuiltImage[];
  /** Attestation manifests, in index order. */
  attestations: BuiltImage[];
  blobs: Map<Digest, Buffer>;
}

/** A layer with a few random files, a directory and a symlink (`files` defaults to 3). */
export function randomLayer(opts: { files?: number; compression?: Compression; size?: number } = {}): LayerSpec {
  const tag = randomBytes(4).toString('hex');
  const entries: EntrySpec[] = [{ type: 'dir', path: `d-${tag}`, mode: 0o755 }];
  for (let i = 0; i < (opts.files ?? 3); i++) {
    entries.push({ type: 'file', path: `d-${tag}/f${i}`, content: randomBytes(opts.size ?? 1024), mode: 0o644 });
  }
  entries.push({ type: 'symlink', path: `d-${tag}/link`, target: 'f0' });
  return { entries, ...(opts.compression === undefined ? {} : { compression: opts.compression }) };
}

const MTIME = Date.parse('2024-01-01T00:00:00Z') / 1000;

/** The uncompressed tar bytes for `entries` (PAX headers for xattrs). */
export async function layerTar(entries: EntrySpec[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of tarBytes(entryStreamOf(entries.map(tarEntry)))) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function header(name: string, type: TarHeader['type'], mode: number, more: Partial<TarHeader> = {}): TarHeader {
  return { name, type, mode, uid: 0, gid: 0, mtime: MTIME, size: 0, ...more };
}

function fileEntry(h: TarHeader, body: Buffer): TarEntry {
  return { header: { ...h, size: body.length }, body: Readable.from([body]) };
}

function tarEntry(e: EntrySpec): TarEntry {
  const slash = e.path.lastIndexOf('/');
  const parent = slash < 0 ? '' : `${e.path.slice(0, slash)}/`;
  const base = e.path.slice(slash + 1);
  switch (e.type) {
    case 'file': {
      const body = typeof e.content === 'string' ? Buffer.from(e.content) : (e.content ?? Buffer.alloc(0));
      const pax =
        e.xattrs === undefined
          ? undefined
          : Object.entries(e.xattrs).map(([k, v]): [string, Buffer] => [`SCHILY.xattr.${k}`, Buffer.from(v)]);
      return fileEntry(
        header(e.path, 'file', e.mode ?? 0o644, {
          uid: e.uid ?? 0,
          gid: e.gid ?? 0,
          mtime: e.mtime ?? MTIME,
          ...(pax === undefined ? {} : { pax }),
        }),
        body,
      );
    }
    case 'dir':
      return {
        header: header(`${e.path}/`, 'directory', e.mode ?? 0o755, {
          uid: e.uid ?? 0,
          gid: e.gid ?? 0,
          mtime: e.mtime ?? MTIME,
        }),
      };
    case 'symlink':
      return { header: header(e.path, 'symlink', 0o777, { linkname: e.target }) };
    case 'hardlink':
      return { header: header(e.path, 'link', 0o644, { linkname: e.target }) };
    case 'whiteout':
      return fileEntry(header(`${parent}.wh.${base}`, 'file', 0o644), Buffer.alloc(0));
    case 'opaque':
      return fileEntry(header(`${e.path}/.wh..wh..opq`, 'file', 0o644), Buffer.alloc(0));
  }
}

function layerMediaType(c: Compression, docker: boolean): string {
  if (c === 'gzip') return docker ? MediaType.DOCKER_LAYER_GZIP : MediaType.OCI_LAYER_GZIP;
  if (c === 'zstd') return MediaType.OCI_LAYER_ZSTD;
  return docker ? 'application/vnd.docker.image.rootfs.diff.tar' : MediaType.OCI_LAYER;
}

function compress(data: Buffer, c: Compression): Buffer {
  return c === 'gzip' ? gzipSync(data) : c === 'zstd' ? zstdCompressSync(data) : data;
}

async function buildLayer(spec: LayerSpec, docker: boolean): Promise<BuiltLayer & { bytes: Buffer }> {
  const tarBytes = await layerTar(spec.entries);
  const c = spec.compression ?? 'gzip';
  const bytes = compress(tarBytes, c);
  return {
    descriptor: { mediaType: layerMediaType(c, docker), digest: digestOf(bytes), size: bytes.length },
    diffId: digestOf(tarBytes),
    tar: tarBytes,
    entries: spec.entries,
    bytes,
  };
}

/** Builds one platform image (manifest + config + layers) in memory. */
export async function buildImage(spec: ImageSpec = {}): Promise<BuiltImage> {
  const docker = spec.mediaTypes === 'docker';
  const platform: Platform = { os: 'linux', architecture: 'amd64', ...spec.platform };
  const layers = await Promise.all((spec.layers ?? [randomLayer()]).map((l) => buildLayer(l, docker)));
  const config: ImageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant === undefined ? {} : { variant: platform.variant }),
    created: '2024-01-01T00:00:00Z',
    config: spec.config ?? {},
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: docker ? MediaType.DOCKER_MANIFEST : MediaType.OCI_MANIFEST,
    config: {
      mediaType: docker ? MediaType.DOCKER_CONFIG : MediaType.OCI_CONFIG,
      digest: digestOf(configBytes),
      size: configBytes.length,
    },
    layers: layers.map((l) => l.descriptor),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const blobs = new Map<Digest, Buffer>([
    [digestOf(manifestBytes), manifestBytes],
    [manifest.config.digest, configBytes],
  ]);
  for (const l of layers) blobs.set(l.descriptor.digest, l.bytes);
  return {
    kind: 'image',
    manifest,
    manifestBytes,
    config,
    configBytes,
    platform,
    blobs,
    layers: layers.map(({ bytes: _bytes, ...l }) => l),
    descriptor: {
      mediaType: manifest.mediaType ?? MediaType.OCI_MANIFEST,
      digest: digestOf(manifestBytes),
      size: manifestBytes.length,
    },
  };
}

/** A BuildKit-style attestation manifest for `image` carrying an SPDX in-toto statement. */
async function buildAttestation(image: BuiltImage, sbom: unknown): Promise<BuiltImage> {
  const statement = Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType: 'https://spdx.dev/Document',
      subject: [{ name: 'image', digest: { sha256: image.descriptor.digest.slice(7) } }],
      predicate: sbom ?? { spdxVersion: 'SPDX-2.3', name: 'test', packages: [] },
    }),
  );
  const att = await buildImage({ layers: [], platform: { os: 'unknown', architecture: 'unknown' } });
  const layer: Descriptor = {
    mediaType: MediaType.IN_TOTO,
    digest: digestOf(statement),
    size: statement.length,
    annotations: { 'in-toto.io/predicate-type': 'https://spdx.dev/Document' },
  };
  const manifest: ImageManifest = { ...att.manifest, layers: [layer] };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const blobs = new Map<Digest, Buffer>([
    [digestOf(manifestBytes), manifestBytes],
    [manifest.config.digest, att.configBytes],
    [layer.digest, statement],
  ]);
  return {
    ...att,
    manifest,
    manifestBytes,
    blobs,
    layers: [],
    descriptor: {
      mediaType: MediaType.OCI_MANIFEST,
      digest: digestOf(manifestBytes),
      size: manifestBytes.length,
      platform: { os: 'unknown', architecture: 'unknown' },
      annotations: {
        'vnd.docker.reference.type': 'attestation-manifest',
        'vnd.docker.reference.digest': image.descriptor.digest,
      },
    },
  };
}

/** Builds a multi-platform index over `specs` (OCI index, or a Docker manifest list with mediaTypes 'docker'). */
export async function buildIndex(
  specs: ImageSpec[],
  opts: { mediaTypes?: 'oci' | 'docker'; attestations?: boolean } = {},
): Promise<BuiltIndex> {
  const docker = opts.mediaTypes === 'docker';
  const images = await Promise.all(specs.map((s) => buildImage({ mediaTypes: opts.mediaTypes ?? 'oci', ...s })));
  const attestations =
    opts.attestations === true ? await Promise.all(images.map((img, i) => buildAttestation(img, specs[i]?.sbom))) : [];
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: docker ? MediaType.DOCKER_MANIFEST_LIST : MediaType.OCI_INDEX,
    manifests: [
      ...images.map((img) => ({ ...img.descriptor, platform: img.platform })),
      ...attestations.map((a) => a.descriptor),
    ],
  };
  const indexBytes = Buffer.from(JSON.stringify(index));
  const blobs = new Map<Digest, Buffer>([[digestOf(indexBytes), indexBytes]]);
  for (const img of [...images, ...attestations]) for (const [d, b] of img.blobs) blobs.set(d, b);
  return {
    kind: 'index',
    index,
    indexBytes,
    images,
    attestations,
    blobs,
    descriptor: {
      mediaType: index.mediaType ?? MediaType.OCI_INDEX,
      digest: digestOf(indexBytes),
      size: indexBytes.length,
    },
  };
}

export interface PushOptions {
  registry?: Partial<RegistryOptions>;
  credentials?: Record<string, Credential>;
}

/** Pushes `image` to `registryHost` as `repoTag` (`team/app:1.0`) using src/registry; returns the root digest. */
export async function pushImage(
  registryHost: string,
  repoTag: string,
  image: BuiltImage | BuiltIndex,
  opts: PushOptions = {},
): Promise<Digest> {
  const ref = parseReference(`${registryHost}/${repoTag}`);
  const client = createRegistryClient({
    registry: { mirrors: [], insecureRegistries: [], ...opts.registry },
    credentials: staticCredentialStore(opts.credentials ?? {}),
    retry: { tries: 2, baseDelayMs: 10, maxDelayMs: 50 },
  });
  const ctx = pushContext(ref);
  try {
    const images = image.kind === 'index' ? [...image.images, ...image.attestations] : [image];
    for (const img of images) {
      for (const [digest, bytes] of img.blobs) {
        if (digest === img.descriptor.digest) continue;
        await client.pushBlob(ctx, { mediaType: 'application/octet-stream', digest, size: bytes.length }, bytes);
      }
      if (image.kind === 'index') await client.pushManifest(ctx, img.manifestBytes, img.descriptor.mediaType);
    }
    const rootBytes = image.kind === 'index' ? image.indexBytes : image.manifestBytes;
    return await client.pushManifest(ctx, rootBytes, image.descriptor.mediaType, ref.tag ?? 'latest');
  } finally {
    await client.close();
  }
}

/** Writes every blob of `image` into the OCI layout / mobyts cache at `dir` and names it `refName` in index.json. */
export async function writeToLayout(dir: string, refName: string, image: BuiltImage | BuiltIndex): Promise<void> {
  const store = await openStore(dir);
  for (const [digest, bytes] of image.blobs) await store.putBlob(bytes, { digest, size: bytes.length });
  await store.setRef(refName, { ...image.descriptor, annotations: { [REF_NAME_ANNOTATION]: refName } });
}
