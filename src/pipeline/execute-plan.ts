/**
 * Carrying out a build plan (plan.ts, docs/architecture.md#pipeline): each planned image opened from the store by
 * its pinned digest (and checked to be the planned manifest), the files planned, the OS assembled and the
 * outputs written (execute.ts), the sections shared through a remote cache and the outputs pushed when the plan
 * says so.
 */
import type { CommandContext } from '../util/context.ts';
import type { ImageSource } from '../image/source.ts';
import { parseReference } from '../oci/reference.ts';
import { platformFor } from '../store/index.ts';
import type { GetImageOptions } from '../store/types.ts';
import type { Reference } from '../oci/reference.ts';
import { planFiles } from '../rootfs/files.ts';
import { buildIdMap, renderMetadata } from '../runtime/index.ts';
import { getFormat } from '../outputs/index.ts';
import { readTarFile } from '../tar/io.ts';
import { InputTar } from '../rootfs/reuse.ts';
import { KERNEL_COPIED_BLOBS } from '../rootfs/kernel.ts';
import { openSectionCache } from '../store/sections.ts';
import { openImageTocs } from '../store/image-tocs.ts';
import { outputLayouts } from '../store/output-layouts.ts';
import type { SegmentRecord } from '../initrd/segments.ts';
import { openWorkDir } from '../store/work.ts';
import { pushBuildOutputs } from '../remote/build-push.ts';
import type { PushedArtifact } from '../remote/artifact.ts';
import { remoteSectionCache } from '../remote/wire-cache.ts';
import { errnoDetail, MobyError } from '../util/errors.ts';
import { executeBuild } from './execute.ts';
import type { OutputPlan } from './outputs-plan.ts';
import { plannedImage, type BuildPlan } from './plan.ts';
import { resolveImages } from './resolve-images.ts';
import { initrdWriter, rootfsDeps } from './wire.ts';
import { join } from 'node:path';

export interface ExecutePlanDeps {
  /** Where the planned images are read from (by digest; the cache holds them after resolvePlan). */
  store: { getImage(ref: Reference, opts: GetImageOptions): Promise<ImageSource> };
  ctx: CommandContext;
}

/** The output plan of `plan`: its format records looked up by name. */
export function outputPlanOf(plan: BuildPlan): OutputPlan {
  const o = plan.outputs;
  return {
    formats: o.formats.map(getFormat),
    base: join(o.dir, o.name),
    dir: o.dir,
    name: o.name,
    ...(o.streamTo === undefined ? {} : { streamTo: o.streamTo }),
  };
}

async function openInputTar(path: string | undefined): Promise<InputTar | undefined> {
  if (path === undefined) return undefined;
  try {
    return await InputTar.open(() => readTarFile(path));
  } catch (err) {
    throw new MobyError(`Cannot read --input-tar "${path}"${errnoDetail(err)}`, { code: 'IO', cause: err });
  }
}

/** Opens the planned image `ref` (a spec reference) for `platform` by its pinned digest. */
async function openPlanned(
  plan: BuildPlan,
  deps: ExecutePlanDeps,
  ref: string,
  platform: string | undefined,
): Promise<ImageSource> {
  const image = plannedImage(plan, ref, platform);
  if (image?.pinned === undefined || image.manifest === undefined)
    throw new MobyError(`Cannot build "${ref}": the plan has no digest for it: this is a bug`, { code: 'BUILD' });
  const source = await deps.store.getImage(parseReference(image.pinned), {
    platform: platformFor(image.platform),
    pull: false,
    registry: plan.settings.registry,
    reporter: deps.ctx.reporter,
    signal: deps.ctx.signal,
  });
  if (source.manifestDigest !== image.manifest)
    throw new MobyError(
      `Cannot build "${image.pinned}": the plan has manifest ${image.manifest} but the store resolved ${source.manifestDigest}`,
      { code: 'BUILD' },
    );
  return source;
}

/** What executing a plan did that the caller reports: the files written, the artifact pushed (`--push`). */
export interface BuildResult {
  /** The output files written into the output directory (none with `-o`). */
  outputs: string[];
  pushed?: PushedArtifact;
}

/**
 * Assembles and writes the outputs of `plan` (from resolvePlan), then pushes them when it says so; the pushed
 * artifact is returned for the CLI to print (docs/architecture.md#cli).
 */
export async function executePlan(plan: BuildPlan, deps: ExecutePlanDeps): Promise<BuildResult> {
  const { spec, settings } = plan;
  const { ctx } = deps;
  const outputs = outputPlanOf(plan);
  const images = await resolveImages(spec, (ref, platform) => openPlanned(plan, deps, ref, platform));
  const idMap = buildIdMap(spec);
  const filePlans = await planFiles(spec.files ?? [], {
    specDirs: plan.os.files.map((f) => f.specDir),
    idMap,
    metadata: (k) => renderMetadata(spec, k),
  });
  const inputTar = await openInputTar(settings.inputTar);
  const sbom = plan.os.sbom === undefined ? {} : { sbom: plan.os.sbom };
  let sbomText: string | undefined;
  const cacheDir = settings.cacheDir;
  const localSections = await openSectionCache<SegmentRecord>(cacheDir, ctx.reporter, KERNEL_COPIED_BLOBS);
  const remote = remoteSectionCache({
    local: localSections,
    cacheDir,
    from: settings.cacheFrom,
    to: settings.cacheTo,
    registry: settings.registry,
    reporter: ctx.reporter,
    signal: ctx.signal,
  });
  const sectionCache = remote ?? localSections;
  const localTocs = await openImageTocs(cacheDir);
  const tocs = remote === undefined ? localTocs : remote.tocStore(localTocs);
  const assemble = {
    spec,
    images,
    files: filePlans,
    deps: rootfsDeps(spec, idMap, ctx.reporter),
    mtime: settings.mtime,
    decompressKernel: settings.decompressKernel,
    reporter: ctx.reporter,
    onSbom: (text: string) => {
      sbomText = text;
    },
    keyContext: { idMap: [...idMap], volumes: spec.volumes ?? [] },
    ...(inputTar === undefined ? {} : { inputTar }),
    ...(tocs === undefined ? {} : { tocs }),
    ...sbom,
  };

  let written: string[];
  try {
    written = await executeBuild({
      plan: outputs,
      assemble,
      writeInitrd: initrdWriter,
      ...(sectionCache === undefined ? {} : { sectionCache }),
      outputLayouts: outputLayouts(cacheDir),
      // local only: a remote cache carries the init images' tables of contents, not these
      ...(localTocs === undefined ? {} : { facts: localTocs }),
      openWork: () => openWorkDir(cacheDir, ctx.reporter),
      compress: settings.compress,
      sizeBytes: settings.sizeBytes,
      arch: plan.arch,
      stdout: ctx.stdout,
      reporter: ctx.reporter,
      signal: ctx.signal,
    });
    await remote?.exportTo();
  } finally {
    await inputTar?.close();
    await remote?.close();
  }
  if (settings.push === undefined) return { outputs: written };
  const pushed = await pushBuildOutputs({
    ref: settings.push,
    plan: outputs,
    spec,
    sbom: sbomText,
    registry: settings.registry,
    reporter: ctx.reporter,
    signal: ctx.signal,
  });
  return { outputs: written, pushed };
}
