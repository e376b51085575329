/**
 * `mobyts build`: load + validate (`loadBuildSpecs`; the caller shows the problems) → plan outputs → preflight
 * tools → resolve/pull images → plan files → assemble and write the outputs. A flat list of named steps; each is
 * a call into the module that owns it.
 */
import type { CommandContext } from '../util/context.ts';
import { createPkgResolver } from '../pkg/template.ts';
import { defaultCacheDir, openStore, platformFor } from '../store/index.ts';
import type { GetImageOptions } from '../store/types.ts';
import { planFiles } from '../rootfs/files.ts';
import { sourceDateEpoch } from '../rootfs/constants.ts';
import { checkReadonlyVolumes } from '../rootfs/volumes.ts';
import { buildIdMap, renderMetadata } from '../runtime/index.ts';
import { loadSpecs, type LoadedSpecs } from '../spec/load.ts';
import { normaliseSpec } from '../spec/normalise.ts';
import { parseUnit } from '../spec/parse.ts';
import type { MobySpec } from '../spec/types.ts';
import { parseReference } from '../oci/reference.ts';
import { preflight } from '../tools/preflight.ts';
import { errnoDetail, MobyError } from '../util/errors.ts';
import { verifySpecTrust } from '../trust/spec-trust.ts';
import { executeBuild } from './execute.ts';
import { readTarFile } from '../tar/io.ts';
import { InputTar } from '../rootfs/reuse.ts';
import type { BuildOptions } from './options.ts';
import { planOutputs } from './outputs-plan.ts';
import { resolveImages, specImageRefs, type GetImage } from './resolve-images.ts';
import { initrdWriter, rootfsDeps } from './wire.ts';
import { openPlanMemo, openSectionCache } from '../store/sections.ts';
import type { SegmentRecord } from '../initrd/segments.ts';
import { openWorkDir } from '../store/work.ts';
import { parseSize } from './size.ts';
import { checkPushable, pushBuildOutputs } from '../remote/build-push.ts';
import { remoteSectionCache } from '../remote/wire-cache.ts';

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

async function openInputTar(path: string | undefined): Promise<InputTar | undefined> {
  if (path === undefined) return undefined;
  try {
    return await InputTar.open(() => readTarFile(path));
  } catch (err) {
    throw new MobyError(`Cannot read --input-tar "${path}"${errnoDetail(err)}`, { code: 'IO', cause: err });
  }
}

/**
 * How each spec reference is fetched: `--locked` → the digest the lockfile pins (never the tag); otherwise
 * images covered by `trust:` are verified through Notary first (nothing is pulled when one fails) and fetched
 * by their signed digest; the rest by reference, cache first unless `--pull`.
 */
async function imageGetter(
  files: string[],
  spec: MobySpec,
  opts: BuildOptions,
  ctx: CommandContext,
): Promise<{ get: GetImage; close: () => Promise<void> }> {
  const registry = {
    mirrors: opts.mirror,
    insecureRegistries: opts.insecureRegistry,
    ...(opts.certFile === undefined ? {} : { caFile: opts.certFile }),
  };
  const get = (platform: string | undefined): GetImageOptions => ({
    platform: platformFor(platform ?? opts.arch),
    pull: opts.pull,
    registry,
    reporter: ctx.reporter,
    signal: ctx.signal,
  });
  if (opts.locked !== undefined) {
    // the lockfile modules (and the registry client they reach) load only for `--locked`
    const [{ getLockedImage }, { readLock }, { defaultLockPath }] = await Promise.all([
      import('../lock/fetch-locked.ts'),
      import('../lock/pin.ts'),
      import('../lock/run-lock.ts'),
    ]);
    const lock = await readLock(opts.locked === '' ? defaultLockPath(files) : opts.locked);
    const store = await openStore(opts.cache);
    const trust = { trust: spec.trust, disableContentTrust: opts.disableContentTrust };
    return {
      get: async (ref, p) =>
        (
          await getLockedImage(store, lock, parseReference(ref), {
            ...get(p),
            ...trust,
            arch: p === undefined ? opts.arch : platformFor(p).architecture,
          })
        ).source,
      close: () => store.close(),
    };
  }
  const verified = await verifySpecTrust(specImageRefs(spec), {
    trust: spec.trust,
    disableContentTrust: opts.disableContentTrust,
    registry,
    reporter: ctx.reporter,
    signal: ctx.signal,
    ...(opts.trustServer === undefined ? {} : { trustServer: opts.trustServer }),
  });
  const store = await openStore(opts.cache);
  return {
    get: (ref, p) => store.getImage(verified.get(ref)?.ref ?? parseReference(ref), get(p)),
    close: () => store.close(),
  };
}

/** Builds the outputs of `loaded` (from `loadBuildSpecs(files, …)`, without errors). */
export async function runBuild(
  files: string[],
  loaded: LoadedSpecs,
  opts: BuildOptions,
  ctx: CommandContext,
): Promise<void> {
  const spec = normaliseSpec(loaded.spec);
  checkReadonlyVolumes(spec);
  const plan = planOutputs(loaded.name, opts, spec);
  checkPushable(plan, opts.push);
  const sizeBytes = parseSize(opts.size ?? '1024M');
  preflight(plan.formats.flatMap((f) => f.archTools?.[opts.arch] ?? f.tools));
  const mtime = sourceDateEpoch();
  // the store's lease keeps every blob of the build's images from `cache rm`/`cache clean` until the end
  const getter = await imageGetter(files, spec, opts, ctx);
  try {
    await buildWith(await resolveImages(spec, getter.get), { loaded, spec, plan, sizeBytes, mtime, opts, ctx });
  } finally {
    await getter.close();
  }
}

interface BuildSteps {
  loaded: LoadedSpecs;
  spec: MobySpec;
  plan: ReturnType<typeof planOutputs>;
  sizeBytes: number;
  mtime: number;
  opts: BuildOptions;
  ctx: CommandContext;
}

/** Plan the files, assemble and write the outputs from the resolved images. */
async function buildWith(
  images: Awaited<ReturnType<typeof resolveImages>>,
  { loaded, spec, plan, sizeBytes, mtime, opts, ctx }: BuildSteps,
): Promise<void> {
  const idMap = buildIdMap(spec);
  const filePlans = await planFiles(spec.files ?? [], {
    specDirs: filesDirs(loaded),
    idMap,
    metadata: (k) => renderMetadata(spec, k),
  });
  const inputTar = await openInputTar(opts.inputTar);
  const sbom = opts.sbom
    ? { sbom: { path: opts.sbomOutput, created: opts.sbomCurrentTime ? Math.floor(Date.now() / 1000) : mtime } }
    : {};
  let sbomText: string | undefined;
  const cacheDir = opts.cache ?? defaultCacheDir();
  const registry = {
    mirrors: opts.mirror,
    insecureRegistries: opts.insecureRegistry,
    ...(opts.certFile === undefined ? {} : { caFile: opts.certFile }),
  };
  const localSections = await openSectionCache<SegmentRecord>(cacheDir, ctx.reporter);
  const remote = remoteSectionCache({
    local: localSections,
    cacheDir,
    from: opts.cacheFrom ?? [],
    to: opts.cacheTo,
    registry,
    reporter: ctx.reporter,
    signal: ctx.signal,
  });
  const sectionCache = remote ?? localSections;
  const memo = await openPlanMemo(cacheDir);
  const assemble = {
    spec,
    images,
    files: filePlans,
    deps: rootfsDeps(spec, idMap, ctx.reporter),
    mtime,
    decompressKernel: opts.decompressKernel,
    reporter: ctx.reporter,
    onSbom: (text: string) => {
      sbomText = text;
    },
    keyContext: { idMap: [...idMap], volumes: spec.volumes ?? [] },
    ...(inputTar === undefined ? {} : { inputTar }),
    ...(memo === undefined ? {} : { memo }),
    ...sbom,
  };

  try {
    await executeBuild({
      plan,
      assemble,
      writeInitrd: initrdWriter,
      ...(sectionCache === undefined ? {} : { sectionCache }),
      openWork: () => openWorkDir(cacheDir, ctx.reporter),
      compress: opts.compress,
      sizeBytes,
      arch: opts.arch,
      stdout: ctx.stdout,
      reporter: ctx.reporter,
      signal: ctx.signal,
    });
    await remote?.exportTo();
  } finally {
    await inputTar?.close();
    await remote?.close();
  }
  if (opts.push === undefined) return;
  const pushed = await pushBuildOutputs({
    ref: opts.push,
    plan,
    spec,
    sbom: sbomText,
    registry,
    reporter: ctx.reporter,
    signal: ctx.signal,
  });
  ctx.stdout.write(`${pushed.ref.expanded}@${pushed.digest}\n`);
}
