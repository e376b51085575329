/**
 * `mobyts build --dry-run`: the merged, normalised spec as YAML (the CLI prints it on stdout), followed by the output files the
 * build would write and the build plan (plan.ts: every image with its digests and trust state, the OS sections
 * and their inputs) as YAML comments, so the output is still a spec you can feed back in. The digests come from
 * the lockfile with --locked, the registry with --pull (manifests only, as `mobyts lock` reads them), else the
 * cache (no network; an image not cached is shown unresolved). The specs come loaded and checked
 * (`loadBuildSpecs`); bad flags are usage errors (exit code 2).
 */
import { stringify } from 'yaml';
import type { LoadedSpecs } from '../spec/load.ts';
import type { MobySpec } from '../spec/types.ts';
import type { CommandContext } from '../util/context.ts';
import { normaliseSpec } from '../spec/normalise.ts';
import { sourceDateEpoch } from '../rootfs/constants.ts';
import { defaultCacheDir, openStore } from '../store/index.ts';
import { buildRegistryOptions, type BuildOptions } from './options.ts';
import { defaultLockPath, pinLines, readLock, type LoadedLock } from '../lock/pin.ts';
import { planImagesFromLock, unverifiedTrust, type PlannedImage } from '../lock/image-plan.ts';
import { resolvePlan, type BuildPlan, type ImageRequest } from './plan.ts';
import { cachedImages } from './plan-images.ts';

/**
 * The build plan a dry run shows; `readLock` reads the `--locked` lockfile (undefined without), once the outputs
 * are planned (usage errors first, as a build reports them).
 */
export async function dryRunPlan(
  loaded: LoadedSpecs,
  opts: BuildOptions,
  ctx: Pick<CommandContext, 'reporter' | 'signal'>,
  readLock: () => Promise<LoadedLock | undefined> = () => Promise.resolve(undefined),
): Promise<BuildPlan> {
  const spec = normaliseSpec(loaded.spec);
  const cacheDir = opts.cache ?? defaultCacheDir();
  return resolvePlan(spec, {
    name: loaded.name,
    build: opts,
    // what a `source` is relative to is shown as the spec wrote it; the build resolves it against the spec file
    specDirs: (spec.files ?? []).map(() => '.'),
    mtime: sourceDateEpoch(),
    cacheDir,
    images: async (requests) => dryRunImages(spec, requests, opts, ctx, cacheDir, await readLock()),
  });
}

async function dryRunImages(
  spec: MobySpec,
  requests: ImageRequest[],
  opts: BuildOptions,
  ctx: Pick<CommandContext, 'reporter' | 'signal'>,
  cacheDir: string,
  lock: LoadedLock | undefined,
): Promise<PlannedImage[]> {
  const trust = { trust: spec.trust, disableContentTrust: opts.disableContentTrust };
  if (lock !== undefined)
    return planImagesFromLock(lock, requests, false, (ref) =>
      unverifiedTrust(ref, spec.trust, opts.disableContentTrust),
    );
  if (!opts.pull) return cachedImages(() => openStore(cacheDir), cacheDir, requests, trust);
  // the registry client loads only for `--dry-run --pull`
  const { planImagesFromRegistry } = await import('../lock/resolve.ts');
  return planImagesFromRegistry(requests, {
    ...trust,
    registry: buildRegistryOptions(opts),
    ...(opts.trustServer === undefined ? {} : { trustServer: opts.trustServer }),
    reporter: ctx.reporter,
    signal: ctx.signal,
  });
}

function imageLine(i: PlannedImage): string {
  const trust = `trust=${i.trust}${i.trust === 'verified' ? ` by ${(i.signedBy ?? []).join(', ')}` : ''}`;
  if (i.pinned === undefined) return `${i.ref} (${i.platform}): ${i.problem ?? 'unresolved'}; ${trust}`;
  const manifest =
    i.manifest === undefined ? (i.problem ?? `no ${i.platform} manifest`) : `${i.platform} ${i.manifest}`;
  return `${i.pinned} (${manifest}) ${trust}, from ${i.from}`;
}

/** The plan as the dry run's comment lines (without the `# `), sections without entries left out. Pure. */
export function planLines(plan: BuildPlan): string[] {
  const { os } = plan;
  const named = (cs: { name: string; image: string }[]): string => cs.map((c) => `${c.name} (${c.image})`).join(', ');
  const lines: [string, string][] = [
    ['kernel', os.kernel === undefined ? '' : `${os.kernel.image} cmdline ${JSON.stringify(os.kernel.cmdline)}`],
    ['init', os.init.join(', ')],
    [
      'volumes',
      os.volumes
        .map((v) => `${v.name}${v.image === undefined ? '' : ` (${v.image}${v.format === 'oci' ? ', oci' : ''})`}`)
        .join(', '),
    ],
    ['onboot', named(os.onboot)],
    ['onshutdown', named(os.onshutdown)],
    ['services', named(os.services)],
    ['files', os.files.map((f) => `${f.path} (${f.kind})`).join(', ')],
    ['sbom', os.sbom?.path ?? ''],
  ];
  return [
    `plan (${plan.platform}):`,
    '  images:',
    ...plan.images.map((i) => `    ${imageLine(i)}`),
    ...lines.filter(([, v]) => v !== '').map(([k, v]) => `  ${k}: ${v}`),
  ];
}

/** The dry-run text of `loaded` (from `loadBuildSpecs(files, …)`, without errors), for the CLI to print. */
export async function runDryRun(
  files: string[],
  loaded: LoadedSpecs,
  opts: BuildOptions,
  ctx: Pick<CommandContext, 'reporter' | 'signal'>,
): Promise<string> {
  let lock: LoadedLock | undefined;
  const plan = await dryRunPlan(loaded, opts, ctx, async () => {
    if (opts.locked !== undefined) lock = await readLock(opts.locked === '' ? defaultLockPath(files) : opts.locked);
    return lock;
  });
  const yaml = stringify(normaliseSpec(loaded.spec), { lineWidth: 0 });
  const comments = (ls: string[]): string => ls.map((l) => `#   ${l}\n`).join('');
  const locked = lock === undefined ? '' : `# locked (${lock.file}):\n${comments(pinLines(lock, opts.arch))}`;
  return `${yaml}# outputs:\n${comments(plan.outputs.files)}${planLines(plan)
    .map((l) => `# ${l}\n`)
    .join('')}${locked}`;
}
