/**
 * The build plan (docs/architecture.md#pipeline): everything `mobyts build` will do, decided before anything is
 * assembled, as plain JSON-serialisable data — every image of the spec as `ref@digest` for each platform it is
 * read for with its trust state, every section of the OS and its inputs, every output path, and the settings
 * the execution needs. `resolvePlan` decides it (the only I/O is learning digests, through the `images` step the
 * caller chooses); `executePlan` (execute-plan.ts) carries it out; `--dry-run` prints it; `mobyts lock` writes its
 * images out.
 */
import type { FormatName } from '../spec/format-names.ts';
import type { PlannedImage } from '../lock/image-plan.ts';
import { platformName } from '../lock/image-plan.ts';
import { specImagePlatforms } from '../lock/spec-images.ts';
import type { RegistryOptions } from '../store/types.ts';
import type { ContainerSection, FileSpec, MobySpec } from '../spec/types.ts';
import { buildRegistryOptions, type BuildOptions } from './options.ts';
import { planOutputs, plannedOutputFiles, type OutputPlan } from './outputs-plan.ts';
import { parseSize } from './size.ts';

export const PLAN_VERSION = 1;

/** An onboot, onshutdown or services container: its name and image (expanded reference as written). */
export interface PlannedContainer {
  name: string;
  image: string;
}

/** A `files:` entry as far as the spec states it (contents and sources are read when the build runs). */
export interface PlannedFile {
  path: string;
  kind: 'file' | 'directory' | 'symlink' | 'metadata';
  /** The host file or directory it copies (`source`), relative to `specDir`. */
  source?: string;
  /** A symlink's target. */
  target?: string;
  /** `yaml`/`json` for `metadata`. */
  format?: string;
  mode?: string;
  optional?: boolean;
  /** The directory `source` is relative to: its own spec file's (the CWD for stdin and URLs). */
  specDir: string;
}

/** The sections of the OS in build order, and what each is made of. */
export interface PlannedOs {
  kernel?: { image: string; cmdline: string; binary: string; tar: string; ucode?: string };
  init: string[];
  volumes: { name: string; image?: string; format: 'filesystem' | 'oci'; readonly: boolean; platforms?: string[] }[];
  onboot: PlannedContainer[];
  onshutdown: PlannedContainer[];
  services: PlannedContainer[];
  files: PlannedFile[];
  /** The SPDX document added to the image; absent with --no-sbom. */
  sbom?: { path: string; created: number };
}

export interface PlannedOutputs {
  formats: FormatName[];
  name: string;
  dir: string;
  /** `-o FILE|-`. */
  streamTo?: string;
  /** Every file written, as `plannedOutputFiles` lists them (`<stdout>` for `-o -`). */
  files: string[];
}

/** The execution's settings, from the build flags. */
export interface PlannedSettings {
  compress: BuildOptions['compress'];
  sizeBytes: number;
  decompressKernel: boolean;
  /** SOURCE_DATE_EPOCH, else LinuxKit's fixed time: every mtime in the outputs. */
  mtime: number;
  inputTar?: string;
  cacheDir: string;
  registry: RegistryOptions;
  cacheFrom: string[];
  cacheTo?: string;
  push?: string;
}

export interface BuildPlan {
  planVersion: typeof PLAN_VERSION;
  /** The build's architecture (`--arch`) and the platform images are read for. */
  arch: string;
  platform: string;
  /** Every image, once per platform it is read for: the build's, then OCI volumes' other platforms. */
  images: PlannedImage[];
  os: PlannedOs;
  outputs: PlannedOutputs;
  settings: PlannedSettings;
  /** The merged, normalised spec the plan executes (plain data, as parsed). */
  spec: MobySpec;
}

/** The images to resolve: each spec reference once per platform it is read for (`linux/amd64`…). */
export interface ImageRequest {
  ref: string;
  platform: string;
  /**
   * Planned before its data is read (an init image: store/layer-toc.ts): a pull makes its layers' tables of
   * contents on the way in. Other images' layers are only read for their data, so a pull skips that work.
   */
  planned: boolean;
}

export interface ResolvePlanOptions {
  /** The spec loader's output name (the last input's basename, `moby` for stdin). */
  name: string;
  build: BuildOptions;
  /** The directory each merged `files` entry's `source` is relative to, in spec order. */
  specDirs: string[];
  mtime: number;
  cacheDir: string;
  /** Checks to make once the outputs are known and before any image is resolved (preflight, push rules). */
  beforeImages?: (outputs: OutputPlan) => void;
  /** Learns the digests: the store (a build), a lockfile (`--locked`), the cache or the registry (a dry run). */
  images: (requests: ImageRequest[]) => Promise<PlannedImage[]>;
}

/** The images `spec` reads, each once per platform, the build's platform for `arch` first. Pure. */
export function imageRequests(spec: MobySpec, arch: string): ImageRequest[] {
  const init = new Set(spec.init ?? []);
  return specImagePlatforms(spec).map((r) => ({
    ref: r.ref,
    platform: platformName(r.platform ?? arch),
    planned: init.has(r.ref),
  }));
}

function plannedFile(f: FileSpec, specDir: string): PlannedFile {
  const kind: PlannedFile['kind'] =
    f.metadata !== undefined
      ? 'metadata'
      : f.directory === true
        ? 'directory'
        : f.symlink !== undefined
          ? 'symlink'
          : 'file';
  return {
    path: f.path,
    kind,
    ...(f.source === undefined ? {} : { source: f.source }),
    ...(f.symlink === undefined ? {} : { target: f.symlink }),
    ...(f.metadata === undefined ? {} : { format: f.metadata }),
    ...(f.mode === undefined ? {} : { mode: f.mode }),
    ...(f.optional === undefined ? {} : { optional: f.optional }),
    specDir,
  };
}

/** The OS sections of `spec` and their inputs, as far as the spec states them. Pure. */
export function planOs(
  spec: MobySpec,
  opts: Pick<BuildOptions, 'sbom' | 'sbomOutput'>,
  sbomCreated: number,
  specDirs: string[],
): PlannedOs {
  const k = spec.kernel;
  const containers = (s: ContainerSection): PlannedContainer[] =>
    (spec[s] ?? []).map((e) => ({ name: e.name, image: e.image }));
  return {
    ...(k === undefined || k.image === ''
      ? {}
      : {
          kernel: {
            image: k.image,
            cmdline: k.cmdline ?? '',
            binary: k.binary ?? 'kernel',
            tar: k.tar ?? 'kernel.tar',
            ...(k.ucode === undefined ? {} : { ucode: k.ucode }),
          },
        }),
    init: spec.init ?? [],
    volumes: (spec.volumes ?? []).map((v) => ({
      name: v.name,
      ...(v.image === undefined || v.image === '' ? {} : { image: v.image }),
      format: v.format ?? 'filesystem',
      readonly: v.readonly === true,
      ...(v.platforms === undefined ? {} : { platforms: v.platforms }),
    })),
    onboot: containers('onboot'),
    onshutdown: containers('onshutdown'),
    services: containers('services'),
    files: (spec.files ?? []).map((f, i) => plannedFile(f, specDirs[i] ?? '.')),
    ...(opts.sbom ? { sbom: { path: opts.sbomOutput, created: sbomCreated } } : {}),
  };
}

/**
 * The plan for `spec` (merged and normalised): outputs first (USAGE errors before anything is resolved), then
 * `beforeImages`, then the images through `options.images`.
 */
export async function resolvePlan(spec: MobySpec, options: ResolvePlanOptions): Promise<BuildPlan> {
  const opts = options.build;
  const outputs = planOutputs(options.name, opts, spec);
  const sizeBytes = parseSize(opts.size ?? '1024M');
  options.beforeImages?.(outputs);
  const images = await options.images(imageRequests(spec, opts.arch));
  const created = opts.sbomCurrentTime ? Math.floor(Date.now() / 1000) : options.mtime;
  return {
    planVersion: PLAN_VERSION,
    arch: opts.arch,
    platform: platformName(opts.arch),
    images,
    os: planOs(spec, opts, created, options.specDirs),
    outputs: {
      formats: outputs.formats.map((f) => f.name),
      name: outputs.name,
      dir: outputs.dir,
      ...(outputs.streamTo === undefined ? {} : { streamTo: outputs.streamTo }),
      files: plannedOutputFiles(outputs),
    },
    settings: {
      compress: opts.compress,
      sizeBytes,
      decompressKernel: opts.decompressKernel,
      mtime: options.mtime,
      ...(opts.inputTar === undefined ? {} : { inputTar: opts.inputTar }),
      cacheDir: options.cacheDir,
      registry: buildRegistryOptions(opts),
      cacheFrom: opts.cacheFrom ?? [],
      ...(opts.cacheTo === undefined ? {} : { cacheTo: opts.cacheTo }),
      ...(opts.push === undefined ? {} : { push: opts.push }),
    },
    spec,
  };
}

/** The planned image `ref` is read as on `platform` (default: the build's). */
export function plannedImage(plan: BuildPlan, ref: string, platform?: string): PlannedImage | undefined {
  const p = platform === undefined ? plan.platform : platformName(platform);
  return plan.images.find((i) => i.ref === ref && i.platform === p);
}
