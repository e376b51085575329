/**
 * `mobyts build`: load + validate (`loadBuildSpecs`; the caller shows the problems) → resolve the plan (plan
 * outputs → preflight tools → resolve/pull images, plan.ts) → execute it (plan files → assemble and write the
 * outputs, execute-plan.ts). A flat list of named steps; each is a call into the module that owns it.
 */
import type { CommandContext } from '../util/context.ts';
import type { ImageSource } from '../image/source.ts';
import { parseReference, type Reference } from '../oci/reference.ts';
import { createPkgResolver } from '../pkg/template.ts';
import {
  defaultCacheDir,
  formatPlatform,
  openStore,
  platformFor,
  type ImageStore,
  type StoreImageSource,
} from '../store/index.ts';
import type { GetImageOptions } from '../store/types.ts';
import { sourceDateEpoch } from '../rootfs/constants.ts';
import { checkReadonlyVolumes } from '../rootfs/volumes.ts';
import { loadSpecs, type LoadedSpecs } from '../spec/load.ts';
import { normaliseSpec } from '../spec/normalise.ts';
import { parseUnit } from '../spec/parse.ts';
import type { MobySpec } from '../spec/types.ts';
import type { PlannedImage } from '../lock/image-plan.ts';
import { findTool, preflight } from '../tools/preflight.ts';
import { getFormat } from '../outputs/index.ts';
import { toolsFor } from '../outputs/format.ts';
import { checkPushable } from '../remote/build-push.ts';
import { buildRegistryOptions, type BuildOptions } from './options.ts';
import { resolvePlan, type BuildPlan, type ImageRequest } from './plan.ts';
import { lockedImages, openedKey, storeImages } from './plan-images.ts';
import { executePlan, type BuildResult } from './execute-plan.ts';
import type { WatchedBuild } from './up-to-date.ts';
import { sourcePath } from '../rootfs/files.ts';

/**
 * The specs of a build, loaded, merged and checked, with `@pkg:` templates resolved: for a real build a package
 * must be built (its image in the cache); for `--dry-run` its tag is shown, built or not (as `linuxkit pkg
 * show-tag` prints it). Problems are returned as issues; the caller shows them and stops on errors.
 */
export function loadBuildSpecs(files: string[], opts: BuildOptions, signal?: AbortSignal): Promise<LoadedSpecs> {
  const resolveTemplate = opts.dryRun
    ? createPkgResolver({ cache: opts.cache, requireBuilt: false })
    : createPkgResolver({ cache: opts.cache ?? defaultCacheDir() });
  return loadSpecs(files, { resolveTemplate, ...(signal === undefined ? {} : { signal }) });
}

/** The directory each merged `files` entry's `source` is relative to: its own spec file's (CWD for stdin/URLs). */
function filesDirs(loaded: LoadedSpecs): string[] {
  return loaded.sources.flatMap((s) => {
    const value = parseUnit(s.text, s.file).unit.value as MobySpec | undefined;
    const n = Array.isArray(value?.files) ? value.files.length : 0;
    return Array<string>(n).fill(s.baseDir ?? process.cwd());
  });
}

/**
 * What the build of `loaded` reads besides its images and spec files, for the stamp that lets the same build be
 * skipped (up-to-date.ts): every `files:` source, the lockfile; and whether it hangs on more than that (`trust:`,
 * `@pkg:` templates).
 */
export function watchedBuild(files: string[], loaded: LoadedSpecs, opts: BuildOptions): WatchedBuild {
  const dirs = filesDirs(loaded);
  const trust = loaded.spec.trust;
  return {
    sources: (loaded.spec.files ?? []).flatMap((f, i) =>
      f.source === undefined ? [] : [sourcePath(f.source, dirs[i])],
    ),
    ...(opts.locked === undefined ? {} : { lockfile: opts.locked === '' ? `${files.at(-1) ?? ''}.lock` : opts.locked }),
    unstampable:
      loaded.sources.some((s) => s.text.includes('@pkg:')) ||
      (trust?.image?.length ?? 0) + (trust?.org?.length ?? 0) > 0,
  };
}

/**
 * How the plan learns each image's digest: `--locked` → the digest the lockfile pins (never the tag); otherwise
 * images covered by `trust:` are verified through Notary first (nothing is pulled when one fails) and fetched by
 * their signed digest, the rest by reference, cache first unless `--pull` (plan-images.ts). Fetched sources are
 * kept so the execution opens each once.
 */
async function planImages(
  files: string[],
  spec: MobySpec,
  opts: BuildOptions,
  ctx: CommandContext,
  store: () => Promise<ImageStore>,
  opened: Map<string, ImageSource>,
): Promise<(requests: ImageRequest[]) => Promise<PlannedImage[]>> {
  const o = {
    trust: spec.trust,
    disableContentTrust: opts.disableContentTrust,
    ...(opts.trustServer === undefined ? {} : { trustServer: opts.trustServer }),
    registry: buildRegistryOptions(opts),
    pull: opts.pull,
    reporter: ctx.reporter,
    signal: ctx.signal,
    layers: layersWhen(opts),
  };
  if (opts.locked === undefined) return (requests) => storeImages(store, requests, o, opened);
  // the lockfile modules (and the registry client they reach) load only for `--locked`
  const { readLock, defaultLockPath } = await import('../lock/pin.ts');
  const lock = await readLock(opts.locked === '' ? defaultLockPath(files) : opts.locked);
  return (requests) => lockedImages(store, lock, requests, o, opened);
}

/**
 * When a build fetches the layers of the images it pulls (docs/formats.md, "Layers as the build needs them"):
 * in the background from the moment each image's manifests and config are stored, so the assembly starts on
 * the first sections while later layers still download; with `--cache-from`, only when a section that is not
 * in the remote cache reads one, so a build the remote cache covers downloads no layer.
 */
function layersWhen(opts: BuildOptions): 'prefetch' | 'on-demand' {
  return (opts.cacheFrom?.length ?? 0) > 0 ? 'on-demand' : 'prefetch';
}

/**
 * Ends the pulls whose layers were fetched as the build went (`opened`): on success each image is completed
 * (every layer fetched, unless `--cache-from` left some unneeded) and named in the cache; an image that cannot be
 * completed is a warning, since the outputs are already written. On failure every fetch under way is stopped.
 */
async function endPulls(
  opened: Map<string, ImageSource>,
  opts: BuildOptions,
  ctx: CommandContext,
  ok: boolean,
): Promise<void> {
  const pulls = [...new Set(opened.values())].flatMap((s) => {
    const pull = (s as Partial<StoreImageSource>).pull;
    return pull === undefined ? [] : [{ ref: s.ref.expanded, pull }];
  });
  if (!ok) {
    await Promise.allSettled(pulls.map((p) => p.pull.abort()));
    return;
  }
  const all = layersWhen(opts) === 'prefetch';
  await Promise.all(
    pulls.map(async (p) => {
      await p.pull.finish(all).catch((err: unknown) =>
        ctx.reporter.emit({
          type: 'warn',
          message: `${p.ref} was not kept whole in the cache (the next build fetches it again)`,
          cause: err,
        }),
      );
    }),
  );
}

/**
 * The build plan of `loaded` (from `loadBuildSpecs(files, …)`, without errors): outputs, preflight, then every
 * image resolved (fetched into the cache) and pinned. `opened` receives the sources fetched on the way.
 */
export async function resolveBuildPlan(
  files: string[],
  loaded: LoadedSpecs,
  opts: BuildOptions,
  ctx: CommandContext,
  store: () => Promise<ImageStore>,
  opened: Map<string, ImageSource>,
): Promise<BuildPlan> {
  const spec = normaliseSpec(loaded.spec);
  checkReadonlyVolumes(spec);
  return resolvePlan(spec, {
    name: loaded.name,
    build: opts,
    specDirs: filesDirs(loaded),
    mtime: sourceDateEpoch(),
    cacheDir: opts.cache ?? defaultCacheDir(),
    beforeImages: (outputs) => {
      checkPushable(outputs, opts.push);
      preflight(toolsFor(outputs.formats, opts.arch));
    },
    images: async (requests) => (await planImages(files, spec, opts, ctx, store, opened))(requests),
  });
}

/**
 * Whether the image cache still gives every image of `plan` the manifest the build used: by its reference as the
 * spec wrote it, or with `--locked` by the digest the lockfile pinned (for the stamp, up-to-date.ts).
 */
async function cacheAsBuilt(plan: BuildPlan, opts: BuildOptions): Promise<boolean> {
  const store = await openStore(opts.cache);
  try {
    for (const image of plan.images) {
      const ref = opts.locked === undefined ? image.ref : image.pinned;
      if (ref === undefined || image.manifest === undefined) return false;
      const cached = await store.getCachedImage(parseReference(ref), platformFor(image.platform));
      if (cached?.manifestDigest !== image.manifest) return false;
    }
    return true;
  } catch {
    return false;
  } finally {
    await store.close();
  }
}

/** The host tools the formats of `plan` run, as found on PATH (for the stamp: an upgraded tool builds again). */
function toolsOf(plan: BuildPlan): string[] {
  const path = process.env['PATH'] ?? '';
  const requirements = toolsFor(plan.outputs.formats.map(getFormat), plan.arch);
  return [...new Set(requirements.flatMap((r) => findTool(r.command, path) ?? []))];
}

/**
 * Builds the outputs of `loaded` (from `loadBuildSpecs(files, …)`, without errors): resolve the plan, execute it.
 * Returns what the CLI reports (the pushed artifact with `--push`).
 */
export async function runBuild(
  files: string[],
  loaded: LoadedSpecs,
  opts: BuildOptions,
  ctx: CommandContext,
): Promise<BuildResult & { cacheAsBuilt: () => Promise<boolean>; tools: string[] }> {
  // the store's lease keeps every blob of the build's images from `cache rm`/`cache clean` until the end; it is
  // opened once trust is verified (or the lock read), as the plan's images need it
  let opening: Promise<ImageStore> | undefined;
  const open = (): Promise<ImageStore> => (opening ??= openStore(opts.cache));
  const opened = new Map<string, ImageSource>();
  let ok = false;
  try {
    const plan = await resolveBuildPlan(files, loaded, opts, ctx, open, opened);
    const store = await open();
    // the images resolving fetched are handed over as they are; anything else is opened from the store
    const reuse = {
      getImage: (ref: Reference, o: GetImageOptions): Promise<ImageSource> =>
        Promise.resolve(opened.get(openedKey(ref.expanded, formatPlatform(o.platform))) ?? store.getImage(ref, o)),
    };
    const result = await executePlan(plan, { store: reuse, ctx });
    ok = true;
    return { ...result, cacheAsBuilt: () => cacheAsBuilt(plan, opts), tools: toolsOf(plan) };
  } finally {
    await endPulls(opened, opts, ctx, ok);
    if (opening !== undefined) await (await opening).close();
  }
}
