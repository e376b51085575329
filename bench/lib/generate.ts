/**
 * Turns an image plan (cases.ts) into real images pushed to the registry with the project's registry client:
 * gzip layers (level 1 to keep generation quick; the build still has to gunzip them), an OCI config and
 * manifest. One layer is in memory at a time, so generating the 2 GiB case stays under ~300 MiB here.
 */
import { gzipSync } from 'node:zlib';
import { digestOf, type Digest } from '../../src/oci/digest.ts';
import { parseReference } from '../../src/oci/reference.ts';
import { MediaType, type Descriptor, type ImageConfig, type ImageManifest } from '../../src/oci/types.ts';
import { createRegistryClient, pushContext, type RegistryClient } from '../../src/registry/client.ts';
import { staticCredentialStore } from '../../src/registry/credentials.ts';
import type { PlannedFile, PlannedImage } from './cases.ts';
import { MiB } from './cases.ts';
import { fileContent, randomBytesFrom } from './content.ts';
import { TarBuilder } from './tar.ts';

const LAYER_LIMIT = 96 * MiB;
export const TAG = '1';

export interface PushedImage {
  plan: PlannedImage;
  /** `127.0.0.1:PORT/bench/<case>/<name>:1` */
  ref: string;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
}

interface Layer {
  descriptor: Descriptor;
  diffId: Digest;
  bytes: Buffer;
}

function parentDirs(files: PlannedFile[]): string[] {
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...dirs].sort();
}

function toLayer(tarBytes: Buffer): Layer {
  const bytes = gzipSync(tarBytes, { level: 1 });
  return {
    descriptor: { mediaType: MediaType.OCI_LAYER_GZIP, digest: digestOf(bytes), size: bytes.length },
    diffId: digestOf(tarBytes),
    bytes,
  };
}

/** Files split into layers of at most LAYER_LIMIT bytes; each layer repeats the directories it needs. */
function* fileLayers(files: PlannedFile[], pool: Buffer): Generator<Layer> {
  let batch: PlannedFile[] = [];
  let bytes = 0;
  const flush = (): Layer => {
    const t = new TarBuilder();
    for (const d of parentDirs(batch)) t.dir(d);
    for (const f of batch) t.file(f.path, fileContent(pool, f.path, f.size));
    batch = [];
    bytes = 0;
    return toLayer(t.finish());
  };
  for (const f of files) {
    if (bytes + f.size > LAYER_LIMIT && batch.length > 0) yield flush();
    batch.push(f);
    bytes += f.size + 512;
  }
  if (batch.length > 0 || files.length === 0) yield flush();
}

/** The kernel image's one layer: `kernel` (random bytes of bzImage size, never booted) and `kernel.tar`. */
function kernelLayer(files: PlannedFile[], pool: Buffer, bzImageBytes: number): Layer {
  const modules = new TarBuilder();
  for (const d of parentDirs(files)) modules.dir(d);
  for (const f of files) modules.file(f.path, fileContent(pool, f.path, f.size));
  const t = new TarBuilder();
  t.file('kernel', randomBytesFrom('bzImage', bzImageBytes));
  t.file('kernel.tar', modules.finish());
  return toLayer(t.finish());
}

function imageConfig(role: PlannedImage['role'], diffIds: Digest[]): Buffer {
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    created: '2024-01-01T00:00:00Z',
    config: role === 'kernel' ? {} : { Entrypoint: ['/bin/true'], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
  };
  return Buffer.from(JSON.stringify(config));
}

async function pushOne(
  client: RegistryClient,
  host: string,
  plan: PlannedImage,
  layers: Iterable<Layer>,
): Promise<PushedImage> {
  const ref = `${host}/${plan.repo}:${TAG}`;
  const ctx = pushContext(parseReference(ref));
  const descriptors: Descriptor[] = [];
  const diffIds: Digest[] = [];
  for (const l of layers) {
    await client.pushBlob(ctx, l.descriptor, l.bytes);
    descriptors.push(l.descriptor);
    diffIds.push(l.diffId);
  }
  const configBytes = imageConfig(plan.role, diffIds);
  const config: Descriptor = {
    mediaType: MediaType.OCI_CONFIG,
    digest: digestOf(configBytes),
    size: configBytes.length,
  };
  await client.pushBlob(ctx, config, configBytes);
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, config, layers: descriptors };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  await client.pushManifest(ctx, manifestBytes, MediaType.OCI_MANIFEST, TAG);
  return {
    plan,
    ref,
    config,
    layers: descriptors,
    manifest: { mediaType: MediaType.OCI_MANIFEST, digest: digestOf(manifestBytes), size: manifestBytes.length },
  };
}

/** Generates and pushes every image of a plan to `host`; returns what was pushed (for the floors). */
export async function pushPlan(
  host: string,
  plan: PlannedImage[],
  opts: { pool: Buffer; bzImageBytes: number },
): Promise<PushedImage[]> {
  const client = createRegistryClient({
    registry: { mirrors: [], insecureRegistries: [] },
    credentials: staticCredentialStore({}),
    retry: { tries: 2 },
  });
  try {
    const out: PushedImage[] = [];
    for (const p of plan) {
      const layers =
        p.role === 'kernel' ? [kernelLayer(p.files, opts.pool, opts.bzImageBytes)] : fileLayers(p.files, opts.pool);
      out.push(await pushOne(client, host, p, layers));
    }
    return out;
  } finally {
    await client.close();
  }
}
