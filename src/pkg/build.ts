/**
 * `mobyts pkg build DIR`: a package image without Docker. Steps: read build.yml and compute the tag → build
 * the base package → per platform: stage (run `prepare` with MOBYTS_ARCH, copy `contents`) → write the layer →
 * config and manifest → one index over every platform built under that tag → point `<org>/<image>:<tag>` at
 * it in the store. Same inputs give the same digest, whatever order the platforms were built in.
 */
import { createReadStream } from 'node:fs';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buffer } from 'node:stream/consumers';
import type { Digest } from '../oci/digest.ts';
import { parseReference } from '../oci/reference.ts';
import { MediaType, type Descriptor, type Platform } from '../oci/types.ts';
import { platformFor, type ImageStore } from '../store/index.ts';
import { formatPlatform, platformMatches } from '../store/platform.ts';
import { execCapture, type ExecCaptureError } from '../tools/spawn.ts';
import { MobyError } from '../util/errors.ts';
import type { Reporter } from '../util/reporter.ts';
import { imageBlobs, indexBlob } from './image.ts';
import { writeLayer } from './layer.ts';
import { packageInfo, type PackageInfo } from './tag.ts';

export interface PkgBuildOptions {
  store: ImageStore;
  /** Go architectures (amd64, arm64, ...); each must be one of the package's `arches`. */
  archs: readonly string[];
  /** Rebuild the asked platforms even when the tag already has them. */
  force: boolean;
  sourceDateEpoch: number;
  reporter: Reporter;
  signal?: AbortSignal;
}

export interface BuiltPackage {
  /** `<org>/<image>:<tag>`. */
  ref: string;
  /** The store's name for it: `docker.io/<org>/<image>:<tag>`. */
  expanded: string;
  /** Digest of the image index the name points at. */
  digest: Digest;
  /** False when the store had every asked platform already and nothing was built. */
  built: boolean;
  /** `linux/<arch>` of every platform in the index (sorted), not only the ones built now. */
  platforms: string[];
}

/** Builds the package at `dir` (and its bases); resolves with its name and digest. */
export async function buildPackage(dir: string, opts: PkgBuildOptions): Promise<BuiltPackage> {
  return buildInfo(await packageInfo(dir), opts);
}

async function buildInfo(info: PackageInfo, opts: PkgBuildOptions): Promise<BuiltPackage> {
  const refused = opts.archs.find((a) => !info.spec.arches.includes(a));
  if (refused !== undefined) {
    throw new MobyError(
      `Cannot build package "${info.dir}" for ${refused}: build.yml arches are ${info.spec.arches.join(', ')}`,
      { code: 'PLATFORM' },
    );
  }
  const base = info.base === undefined ? undefined : await buildInfo(info.base, opts);
  const expanded = parseReference(info.ref).expanded;
  const { root, manifests: have } = await existingIndex(opts.store, expanded);
  const missing = opts.archs.filter(
    (a) => opts.force || !have.some((d) => platformMatches(d.platform, platformFor(a))),
  );
  if (root !== undefined && missing.length === 0) {
    opts.reporter.emit({ type: 'info', message: `Package ${info.ref} is already built for ${opts.archs.join(', ')}` });
    return { ref: info.ref, expanded, digest: root.digest, built: false, platforms: platformNames(have) };
  }
  const built: Descriptor[] = [];
  for (const arch of missing)
    built.push(await buildPlatform(info, { platform: platformFor(arch), base: base?.expanded }, opts));
  const manifests = mergeManifests(have, built);
  const index = await storeIndex(opts.store, manifests);
  await opts.store.setRef(expanded, index);
  opts.reporter.emit({
    type: 'info',
    message: `Stored ${info.ref} (${index.digest}: ${platformNames(manifests).join(', ')})`,
  });
  return { ref: info.ref, expanded, digest: index.digest, built: true, platforms: platformNames(manifests) };
}

/** The index the store names `expanded` and the platform manifests it lists (none when there is no such name). */
async function existingIndex(
  store: ImageStore,
  expanded: string,
): Promise<{ root?: Descriptor; manifests: Descriptor[] }> {
  const root = await store.getRef(expanded);
  if (root === undefined) return { manifests: [] };
  const index = JSON.parse((await buffer(await store.openBlob(root.digest, root.size))).toString()) as {
    manifests?: Descriptor[];
  };
  return { root, manifests: index.manifests ?? [] };
}

/** `have` with each platform in `built` replaced or added, sorted by platform so build order does not matter. */
export function mergeManifests(have: readonly Descriptor[], built: readonly Descriptor[]): Descriptor[] {
  const key = (d: Descriptor): string => formatPlatform(d.platform);
  const byPlatform = new Map(have.map((d) => [key(d), d]));
  for (const d of built) byPlatform.set(key(d), d);
  return [...byPlatform.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, d]) => d);
}

function platformNames(manifests: readonly Descriptor[]): string[] {
  return manifests.map((d) => formatPlatform(d.platform)).sort();
}

async function storeIndex(store: ImageStore, manifests: Descriptor[]): Promise<Descriptor> {
  const bytes = indexBlob(manifests);
  const put = await store.putBlob(bytes);
  return { mediaType: MediaType.OCI_INDEX, digest: put.digest, size: put.size };
}

/** Stages, writes and stores one platform's image; resolves with its manifest descriptor (platform set). */
async function buildPlatform(
  info: PackageInfo,
  p: { platform: Platform; base: string | undefined },
  opts: PkgBuildOptions,
): Promise<Descriptor> {
  opts.reporter.emit({ type: 'info', message: `Building package ${info.ref} for ${formatPlatform(p.platform)}` });
  const work = await mkdtemp(join(tmpdir(), 'mobyts-pkg-'));
  try {
    const stage = join(work, 'stage');
    await mkdir(stage, { mode: 0o755 });
    await runPrepare(info, stage, { ...opts, arch: p.platform.architecture });
    if (info.spec.contents !== undefined) {
      await cp(resolve(info.dir, info.spec.contents), stage, { recursive: true, verbatimSymlinks: true, force: true });
    }
    return await storeImage(info, { stage, work, ...p }, opts);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function runPrepare(info: PackageInfo, stage: string, opts: PkgBuildOptions & { arch: string }): Promise<void> {
  const command = info.spec.prepare;
  if (command === undefined) return Promise.resolve();
  const env = {
    ...process.env,
    STAGE: stage,
    PKG_DIR: info.dir,
    SOURCE_DATE_EPOCH: String(opts.sourceDateEpoch),
    MOBYTS_ARCH: opts.arch,
  };
  const debug = (stderr: string): void => {
    if (stderr.trim() !== '') opts.reporter.emit({ type: 'debug', message: `${info.ref} prepare: ${stderr.trim()}` });
  };
  return execCapture('sh', ['-c', command], { cwd: info.dir, env, maxBuffer: 16 << 20, signal: opts.signal }).then(
    ({ stderr }) => debug(stderr),
    (e: unknown) => {
      const err = e as ExecCaptureError;
      debug(err.stderr);
      const status = typeof err.code === 'number' ? ` with exit status ${err.code}` : '';
      throw new MobyError(
        `Cannot build package "${info.dir}": prepare step \`${command}\` failed${status}\n${err.stderr.trim().split('\n').slice(-10).join('\n')}`,
        { code: 'TOOL_FAILED', cause: err },
      );
    },
  );
}

interface StoreInputs {
  stage: string;
  work: string;
  platform: Platform;
  base: string | undefined;
}

async function storeImage(info: PackageInfo, s: StoreInputs, opts: PkgBuildOptions): Promise<Descriptor> {
  const baseImage =
    s.base === undefined ? undefined : await opts.store.getCachedImage(parseReference(s.base), s.platform);
  if (s.base !== undefined && baseImage === undefined) {
    throw new MobyError(`Cannot build package "${info.dir}": its base "${s.base}" is not complete in the store`, {
      code: 'STORE',
    });
  }
  const layer = await writeLayer(s.stage, join(s.work, 'layer.tar.gz'), opts.sourceDateEpoch);
  const blobs = imageBlobs({
    platform: s.platform,
    layer,
    imageConfig: info.spec.imageConfig,
    created: opts.sourceDateEpoch,
    ...(baseImage === undefined ? {} : { base: { config: baseImage.config, layers: baseImage.manifest.layers } }),
    ...(info.spec.config === undefined ? {} : { mobyConfig: info.spec.config }),
  });
  await opts.store.putBlob(createReadStream(layer.path), { digest: layer.digest, size: layer.size });
  await opts.store.putBlob(blobs.config);
  await opts.store.putBlob(blobs.manifest);
  await opts.store.makeLayerTocs([blobs.manifestDescriptor]);
  opts.reporter.emit({
    type: 'debug',
    message: `${info.ref} ${formatPlatform(s.platform)}: manifest ${blobs.manifestDescriptor.digest}, layer ${layer.size} bytes`,
  });
  return blobs.manifestDescriptor;
}
