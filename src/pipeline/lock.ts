/**
 * `mobyts lock SPEC...`: the build plan's images, learnt through the registry, written out as the lockfile
 * (docs/architecture.md#plan). The plan is resolved as `build --dry-run --pull` resolves it — the same walk over
 * the spec's images (content trust first for `trust:` images, then manifests only, no layers) — and
 * `lockfileFromImages` writes `plan.images`, each reference once; `build --locked` reads the file back into the
 * same records. The specs come loaded and checked (`loadSpecs`; the caller shows the problems and does not
 * lock specs with errors).
 */
import { writeFile } from 'node:fs/promises';
import type { RegistryOptions } from '../store/types.ts';
import { defaultCacheDir } from '../store/index.ts';
import type { LoadedSpecs } from '../spec/load.ts';
import { normaliseSpec } from '../spec/normalise.ts';
import { sourceDateEpoch } from '../rootfs/constants.ts';
import type { CommandContext } from '../util/context.ts';
import { writeAtomically } from '../util/atomic.ts';
import { serialiseLock, type Lockfile } from '../lock/lockfile.ts';
import { lockfileFromImages } from '../lock/image-plan.ts';
import { defaultLockPath } from '../lock/pin.ts';
import { planImagesFromRegistry } from '../lock/resolve.ts';
import { buildOptions } from './options.ts';
import { resolvePlan, type BuildPlan } from './plan.ts';

export interface LockCommandOptions {
  /** Lockfile path; default `defaultLockPath(files)`. */
  output?: string;
  registry: RegistryOptions;
  disableContentTrust: boolean;
  trustServer?: string;
  trustDir?: string;
}

/**
 * The plan `mobyts lock` writes out: the spec's own outputs planned for amd64 (a lockfile keeps every platform
 * of each image, so the platform the plan reads for changes nothing written; amd64 is one every format
 * supports), every image described through the registry.
 */
export function lockPlan(loaded: LoadedSpecs, opts: LockCommandOptions, ctx: CommandContext): Promise<BuildPlan> {
  const spec = normaliseSpec(loaded.spec);
  const registry = opts.registry;
  return resolvePlan(spec, {
    name: loaded.name,
    build: buildOptions({
      arch: 'amd64',
      sbom: false,
      mirror: registry.mirrors,
      insecureRegistry: registry.insecureRegistries,
      ...(registry.caFile === undefined ? {} : { certFile: registry.caFile }),
      disableContentTrust: opts.disableContentTrust,
      ...(opts.trustServer === undefined ? {} : { trustServer: opts.trustServer }),
    }),
    specDirs: (spec.files ?? []).map(() => '.'),
    mtime: sourceDateEpoch(),
    cacheDir: defaultCacheDir(),
    images: (requests) =>
      planImagesFromRegistry(requests, {
        registry,
        trust: spec.trust,
        disableContentTrust: opts.disableContentTrust,
        ...(opts.trustServer === undefined ? {} : { trustServer: opts.trustServer }),
        ...(opts.trustDir === undefined ? {} : { trustDir: opts.trustDir }),
        reporter: ctx.reporter,
        signal: ctx.signal,
      }),
  });
}

/** Locks `loaded` (the specs `files`, loaded without errors): writes `plan.images` as the lockfile; returns it. */
export async function runLock(
  files: string[],
  loaded: LoadedSpecs,
  opts: LockCommandOptions,
  ctx: CommandContext,
): Promise<Lockfile> {
  const plan = await lockPlan(loaded, opts, ctx);
  const lock = lockfileFromImages(plan.images);
  const file = opts.output ?? defaultLockPath(files);
  await writeAtomically(file, (tmp) => writeFile(tmp, serialiseLock(lock)));
  ctx.reporter.emit({ type: 'info', message: `wrote ${file} (${Object.keys(lock.images).length} images)` });
  return lock;
}
