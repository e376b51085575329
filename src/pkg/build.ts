/**
 * `mobyts pkg build DIR`: a package image without Docker. Steps: read build.yml and compute the tag → build
 * the base package → stage (run `prepare`, copy `contents`) → write the layer → config, manifest, index → put
 * the blobs and point `<org>/<image>:<tag>` at the index in the store. Same inputs give the same digest.
 */
import { createReadStream } from 'node:fs';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Digest } from '../oci/digest.ts';
import { parseReference } from '../oci/reference.ts';
import type { Platform } from '../oci/types.ts';
import { platformFor, type ImageStore } from '../store/index.ts';
import { execCapture, type ExecCaptureError } from '../tools/spawn.ts';
import { MobyError } from '../util/errors.ts';
import type { Reporter } from '../util/reporter.ts';
import { imageBlobs } from './image.ts';
import { writeLayer } from './layer.ts';
import { packageInfo, type PackageInfo } from './tag.ts';

export interface PkgBuildOptions {
  store: ImageStore;
  /** Go architecture; must be one of the package's `arches`. */
  arch: string;
  /** Rebuild even when the tag is already in the store. */
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
  /** False when the store had it already and nothing was built. */
  built: boolean;
}

/** Builds the package at `dir` (and its bases); resolves with its name and digest. */
export async function buildPackage(dir: string, opts: PkgBuildOptions): Promise<BuiltPackage> {
  return buildInfo(await packageInfo(dir), opts);
}

async function buildInfo(info: PackageInfo, opts: PkgBuildOptions): Promise<BuiltPackage> {
  if (!info.spec.arches.includes(opts.arch)) {
    throw new MobyError(`Cannot build package "${info.dir}" for ${opts.arch}: build.yml arches are ${info.spec.arches.join(', ')}`, { code: 'PLATFORM' });
  }
  const platform = platformFor(opts.arch);
  const base = info.base === undefined ? undefined : await buildInfo(info.base, opts);
  const expanded = parseReference(info.ref).expanded;
  const existing = await opts.store.getRef(expanded);
  if (existing !== undefined && !opts.force) {
    opts.reporter.emit({ type: 'info', message: `Package ${info.ref} is already built` });
    return { ref: info.ref, expanded, digest: existing.digest, built: false };
  }
  opts.reporter.emit({ type: 'info', message: `Building package ${info.ref}` });
  const work = await mkdtemp(join(tmpdir(), 'mobyts-pkg-'));
  try {
    const stage = join(work, 'stage');
    await mkdir(stage, { mode: 0o755 });
    await runPrepare(info, stage, opts);
    if (info.spec.contents !== undefined) {
      await cp(resolve(info.dir, info.spec.contents), stage, { recursive: true, verbatimSymlinks: true, force: true });
    }
    const digest = await storeImage(info, { stage, work, platform, base: base?.expanded }, opts);
    await opts.store.setRef(expanded, { ...digestDescriptor(digest) });
    return { ref: info.ref, expanded, digest: digest.digest, built: true };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function digestDescriptor(d: { mediaType: string; digest: Digest; size: number }): { mediaType: string; digest: Digest; size: number } {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

function runPrepare(info: PackageInfo, stage: string, opts: PkgBuildOptions): Promise<void> {
  const command = info.spec.prepare;
  if (command === undefined) return Promise.resolve();
  const env = { ...process.env, STAGE: stage, PKG_DIR: info.dir, SOURCE_DATE_EPOCH: String(opts.sourceDateEpoch), MOBYTS_ARCH: opts.arch };
  const debug = (stderr: string): void => {
    if (stderr.trim() !== '') opts.reporter.emit({ type: 'debug', message: `${info.ref} prepare: ${stderr.trim()}` });
  };
  return execCapture('sh', ['-c', command], { cwd: info.dir, env, maxBuffer: 16 << 20, signal: opts.signal }).then(({ stderr }) => debug(stderr), (e: unknown) => {
    const err = e as ExecCaptureError;
    debug(err.stderr);
    const status = typeof err.code === 'number' ? ` with exit status ${err.code}` : '';
    throw new MobyError(`Cannot build package "${info.dir}": prepare step \`${command}\` failed${status}\n${err.stderr.trim().split('\n').slice(-10).join('\n')}`, { code: 'TOOL_FAILED', cause: err });
  });
}

interface StoreInputs {
  stage: string;
  work: string;
  platform: Platform;
  base: string | undefined;
}

async function storeImage(info: PackageInfo, s: StoreInputs, opts: PkgBuildOptions): Promise<{ mediaType: string; digest: Digest; size: number }> {
  const baseImage = s.base === undefined ? undefined : await opts.store.getCachedImage(parseReference(s.base), s.platform);
  if (s.base !== undefined && baseImage === undefined) {
    throw new MobyError(`Cannot build package "${info.dir}": its base "${s.base}" is not complete in the store`, { code: 'STORE' });
  }
  const layer = await writeLayer(s.stage, join(s.work, 'layer.tar.gz'), opts.sourceDateEpoch);
  const blobs = imageBlobs({
    platform: s.platform, layer, imageConfig: info.spec.imageConfig, created: opts.sourceDateEpoch,
    ...(baseImage === undefined ? {} : { base: { config: baseImage.config, layers: baseImage.manifest.layers } }),
    ...(info.spec.config === undefined ? {} : { mobyConfig: info.spec.config }),
  });
  await opts.store.putBlob(createReadStream(layer.path), { digest: layer.digest, size: layer.size });
  await opts.store.putBlob(blobs.config);
  await opts.store.putBlob(blobs.manifest);
  await opts.store.putBlob(blobs.index);
  opts.reporter.emit({ type: 'info', message: `Stored ${info.ref} (${blobs.indexDescriptor.digest}, layer ${layer.size} bytes)` });
  return blobs.indexDescriptor;
}
