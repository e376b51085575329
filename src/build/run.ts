/**
 * `mobyts build`: load + validate → plan outputs → preflight tools → resolve/pull images → plan files →
 * assemble and write the outputs. A flat list of named steps; each is a call into the module that owns it.
 */
import type { CliContext } from '../cli/context.ts';
import { createPkgResolver } from '../pkg/template.ts';
import { defaultCacheDir, openStore, platformFor } from '../store/index.ts';
import type { GetImageOptions } from '../store/types.ts';
import { planFiles } from '../rootfs/files.ts';
import { sourceDateEpoch } from '../rootfs/constants.ts';
import { checkReadonlyVolumes } from '../rootfs/volumes.ts';
import { buildIdMap, renderMetadata } from '../runtime/index.ts';
import { hasErrors, renderIssues, summariseIssues } from '../spec/issues.ts';
import { loadSpecs, type LoadedSpecs } from '../spec/load.ts';
import { normaliseSpec } from '../spec/normalise.ts';
import { parseUnit } from '../spec/parse.ts';
import type { MobySpec } from '../spec/types.ts';
import { parseReference } from '../oci/reference.ts';
import { preflight } from '../tools/preflight.ts';
import { MobyError } from '../util/errors.ts';
import { getLockedImage } from '../lock/fetch-locked.ts';
import { readLock } from '../lock/pin.ts';
import { defaultLockPath } from '../lock/run-lock.ts';
import { verifySpecTrust } from '../trust/spec-trust.ts';
import { runDryRun } from './dry-run.ts';
import { executeBuild } from './execute.ts';
import { readTarFile } from './tar-io.ts';
import { InputTar } from '../rootfs/reuse.ts';
import type { BuildOptions } from './options.ts';
import { planOutputs } from './outputs-plan.ts';
import { resolveImages, specImageRefs, type GetImage } from './resolve-images.ts';
import { initrdWriter, rootfsDeps } from './wire.ts';
import { openPlanMemo, openSectionCache } from '../store/sections.ts';
import type { SegmentRecord } from '../initrd/segments.ts';
import { openWorkDir } from '../store/work.ts';
import { parseSize } from './size.ts';

/** Prints the spec issues; false when there are errors (exit code 1 set, nothing built). */
function reportIssues(loaded: LoadedSpecs, ctx: CliContext): boolean {
  const names = loaded.sources.map((s) => s.file);
  if (loaded.issues.length > 0) ctx.stderr.write(`${renderIssues(loaded.issues)}${summariseIssues(loaded.issues, names)}\n`);
  if (!hasErrors(loaded.issues)) return true;
  ctx.setExitCode(1);
  return false;
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
    throw new MobyError(`Cannot read --input-tar "${path}": ${(err as Error).message}`, { code: 'IO', cause: err });
  }
}

/**
 * How each spec reference is fetched: `--locked` → the digest the lockfile pins (never the tag); otherwise
 * images covered by `trust:` are verified through Notary first (nothing is pulled when one fails) and fetched
 * by their signed digest; the rest by reference, cache first unless `--pull`.
 */
async function imageGetter(files: string[], spec: MobySpec, opts: BuildOptions, ctx: CliContext): Promise<GetImage> {
  const registry = { mirrors: opts.mirror, insecureRegistries: opts.insecureRegistry, ...(opts.certFile === undefined ? {} : { caFile: opts.certFile }) };
  const get = (platform: string | undefined): GetImageOptions => ({
    platform: platformFor(platform ?? opts.arch), pull: opts.pull, registry, reporter: ctx.reporter, signal: ctx.signal,
  });
  if (opts.locked !== undefined) {
    const lock = await readLock(opts.locked === '' ? defaultLockPath(files) : opts.locked);
    const store = await openStore(opts.cache);
    const trust = { trust: spec.trust, disableContentTrust: opts.disableContentTrust };
    return async (ref, p) => (await getLockedImage(store, lock, parseReference(ref), { ...get(p), ...trust, arch: p === undefined ? opts.arch : platformFor(p).architecture })).source;
  }
  const verified = await verifySpecTrust(specImageRefs(spec), {
    trust: spec.trust, disableContentTrust: opts.disableContentTrust, registry, reporter: ctx.reporter, signal: ctx.signal,
    ...(opts.trustServer === undefined ? {} : { trustServer: opts.trustServer }),
  });
  const store = await openStore(opts.cache);
  return (ref, p) => store.getImage(verified.get(ref)?.ref ?? parseReference(ref), get(p));
}

export async function runBuild(files: string[], opts: BuildOptions, ctx: CliContext): Promise<void> {
  if (opts.dryRun) return runDryRun(files, opts, ctx);
  const loaded = await loadSpecs(files, { resolveTemplate: createPkgResolver({ cache: opts.cache ?? defaultCacheDir() }) });
  if (!reportIssues(loaded, ctx)) return;
  const spec = normaliseSpec(loaded.spec);
  checkReadonlyVolumes(spec);
  const plan = planOutputs(loaded.name, opts, spec);
  const sizeBytes = parseSize(opts.size ?? '1024M');
  preflight(plan.formats.flatMap((f) => f.tools));
  const mtime = sourceDateEpoch();
  const images = await resolveImages(spec, await imageGetter(files, spec, opts, ctx));
  const idMap = buildIdMap(spec);
  const filePlans = await planFiles(spec.files ?? [], { specDirs: filesDirs(loaded), idMap, metadata: (k) => renderMetadata(spec, k) });
  const inputTar = await openInputTar(opts.inputTar);
  const sbom = opts.sbom ? { sbom: { path: opts.sbomOutput, created: opts.sbomCurrentTime ? Math.floor(Date.now() / 1000) : mtime } } : {};
  const cacheDir = opts.cache ?? defaultCacheDir();
  const sectionCache = await openSectionCache<SegmentRecord>(cacheDir, ctx.reporter);
  const memo = await openPlanMemo(cacheDir);
  const assemble = {
    spec, images, files: filePlans, deps: rootfsDeps(spec, idMap), mtime, decompressKernel: opts.decompressKernel, reporter: ctx.reporter,
    keyContext: { idMap: [...idMap], volumes: spec.volumes ?? [] }, ...(inputTar === undefined ? {} : { inputTar }), ...(memo === undefined ? {} : { memo }), ...sbom,
  };

  try {
    await executeBuild({
      plan, assemble, writeInitrd: initrdWriter, ...(sectionCache === undefined ? {} : { sectionCache }), openWork: () => openWorkDir(cacheDir, ctx.reporter), compress: opts.compress, sizeBytes, arch: opts.arch,
      stdout: ctx.stdout, reporter: ctx.reporter, signal: ctx.signal,
    });
  } finally {
    await inputTar?.close();
  }
}
