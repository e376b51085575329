/**
 * The whole OS as ONE tar entry stream (docs/linuxkit-behaviour.md#tar-order), a flat list of sections:
 * kernel → init (+ apk db) → volumes → onboot → onshutdown → services → files → [Dockerfile] → [SBOM].
 * Each path appears once (tracker.ts says which entry wins). The stream reads images lazily; the consumer
 * drains it once, in order. Log lines follow LinuxKit's (docs/linuxkit-behaviour.md#logs-exit).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ImageSource } from '../image/source.ts';
import { spdxDocuments } from '../sbom/attestations.ts';
import { renderSbom, type SbomDocument } from '../sbom/spdx.ts';
import type { KernelSpec, MobySpec, VolumeSpec } from '../spec/types.ts';
import type { EntryStream, TarEntry } from '../tar/entry.ts';
import type { Reporter } from '../util/reporter.ts';
import { bundleKeyInputs, bundleStream, noteBundle, type BundleSectionOptions, type ContainerItem } from './bundles.ts';
import type { RootfsDeps } from './deps.ts';
import { claimFiles, filesSection, type FilePlan } from './files.ts';
import { claimInitPaths, initImageSection, type InitSectionOptions } from './init.ts';
import type { TocStore } from './toc.ts';
import { initSymlinks, kernelSection, type KernelOutputs, type KernelParts } from './kernel.ts';
import { captureKernel, reuseOr, sectionKey, type InputTar } from './reuse.ts';
import { cleanName } from './safe-name.ts';
import { fileEntry } from './synth.ts';
import { PathTracker } from './tracker.ts';
import { volumeStream, type VolumeSectionOptions } from './volumes.ts';
import type { RootfsSection, SectionRecord } from './section.ts';

export const DOCKERFILE = 'FROM scratch\nCOPY . ./\nENTRYPOINT ["/bin/rc.init"]\n';

export interface ResolvedImages {
  kernel?: ImageSource;
  init: ImageSource[];
  /** By volume index; undefined for a blank volume. */
  volumes: Array<ImageSource | undefined>;
  /** `format: oci` volumes by index: one image per platform (the first is also in `volumes`). */
  ociVolumes?: Map<number, ImageSource[]>;
  /** onboot, onshutdown, services entries in order. */
  containers: ContainerItem[];
}

export interface AssembleInput {
  spec: MobySpec;
  images: ResolvedImages;
  files: FilePlan[];
  deps: RootfsDeps;
  /** mtime of every synthesized entry. */
  mtime: number;
  /** Scratch space (the kernel's modules tar is spooled here). */
  workDir: string;
  decompressKernel: boolean;
  /** Add LinuxKit's `Dockerfile` (docker format). */
  dockerfile: boolean;
  /** Add the SBOM at this path, created at this time (seconds). */
  sbom?: { path: string; created: number };
  reporter: Reporter;
  onKernel?(parts: KernelOutputs): void;
  /** Called with the SBOM's text when it is rendered (`build --push` attaches it to the artifact). */
  onSbom?(text: string): void;
  /** What every section key also depends on (id map, volumes…: reuse.ts); sections are keyed always. */
  keyContext?: unknown;
  /** `--input-tar`: sections whose key matches are copied from it. */
  inputTar?: InputTar;
  /** Keeps each init image's table of contents between builds (init.ts). */
  tocs?: TocStore;
}

function info(r: Reporter, message: string): void {
  r.emit({ type: 'info', message });
}

/**
 * What every section reads besides its own input: the build-wide inputs (each key covers them, through the
 * KeyChain or the section's own inputs), the path tracker the sections share, the input tar and the log.
 */
interface SectionEnv {
  tracker: PathTracker;
  deps: RootfsDeps;
  /** mtime of every synthesized entry. */
  mtime: number;
  reporter: Reporter;
  keyContext: unknown;
  inputTar: InputTar | undefined;
}

/** The kernel section's own input: the image and its spec entry, and what placing its files depends on. */
interface KernelInput {
  source: ImageSource;
  spec: KernelSpec;
  /** The init images: their symlinks (Debian's lib → usr/lib) decide where the modules go. */
  init: ImageSource[];
  tocs: TocStore | undefined;
  decompress: boolean;
  /** Scratch space (the modules tar is spooled here). */
  workDir: string;
  onKernel: ((parts: KernelOutputs) => void) | undefined;
}

/** The init sections' own input: the images, in order, and their kept tables of contents. */
interface InitInput {
  sources: ImageSource[];
  tocs: TocStore | undefined;
}

/** The volume sections' own input: the spec's volumes and their images. */
interface VolumesInput {
  volumes: VolumeSpec[];
  sources: Array<ImageSource | undefined>;
  ociSources: Map<number, ImageSource[]>;
}

/** The trailer's own input: the Dockerfile, the SBOM, and the images the SBOM describes. */
interface TrailerInput {
  dockerfile: boolean;
  sbom: { path: string; created: number } | undefined;
  /** Every image of the build (the SBOM lists them). */
  images: ImageSource[];
  /** The images unpacked before the containers, and where (the containers add theirs as they are unpacked). */
  unpackedBefore: ImageUse[];
  onSbom: ((text: string) => void) | undefined;
}

/** Each section's own input, taken from the assembly's input once, before any section is made. */
interface SectionInputs {
  kernel: KernelInput | undefined;
  init: InitInput;
  volumes: VolumesInput;
  containers: ContainerItem[];
  files: FilePlan[];
  trailer: TrailerInput;
}

function allImages(i: ResolvedImages): ImageSource[] {
  const oci = [...(i.ociVolumes ?? new Map<number, ImageSource[]>()).values()].flat();
  return [i.kernel, ...i.init, ...i.volumes, ...oci, ...i.containers.map((c) => c.source)].filter(
    (s): s is ImageSource => s !== undefined,
  );
}

/** An image unpacked into the root filesystem, and where (for the SBOM). */
interface ImageUse {
  source: ImageSource;
  prefix: string;
}

/** The kernel, init and (filesystem) volume images, where each is unpacked. */
function unpackedBefore(images: ResolvedImages, specs: VolumeSpec[]): ImageUse[] {
  const { kernel, init, volumes } = images;
  return [
    ...(kernel === undefined ? [] : [{ source: kernel, prefix: '' }]),
    ...init.map((source) => ({ source, prefix: '' })),
    ...volumes.flatMap((source, i) =>
      source === undefined || specs[i]?.format === 'oci'
        ? []
        : [{ source, prefix: `containers/volumes/${specs[i]?.name ?? ''}/lower` }],
    ),
  ];
}

function sectionInputs(input: AssembleInput): SectionInputs {
  const { images, spec } = input;
  const volumes = spec.volumes ?? [];
  return {
    kernel:
      images.kernel === undefined || spec.kernel === undefined
        ? undefined
        : {
            source: images.kernel,
            spec: spec.kernel,
            init: images.init,
            tocs: input.tocs,
            decompress: input.decompressKernel,
            workDir: input.workDir,
            onKernel: input.onKernel?.bind(input),
          },
    init: { sources: images.init, tocs: input.tocs },
    volumes: {
      volumes,
      sources: images.volumes,
      ociSources: images.ociVolumes ?? new Map<number, ImageSource[]>(),
    },
    containers: images.containers,
    files: input.files,
    trailer: {
      dockerfile: input.dockerfile,
      sbom: input.sbom,
      images: allImages(images),
      unpackedBefore: unpackedBefore(images, volumes),
      onSbom: input.onSbom?.bind(input),
    },
  };
}

async function sbomEntry(
  t: TrailerInput,
  sbom: { path: string; created: number },
  used: ImageUse[],
  mtime: number,
  onSbom: (text: string) => void,
): Promise<TarEntry> {
  const documents: SbomDocument[] = [];
  for (const u of used) for (const doc of await spdxDocuments(u.source)) documents.push({ prefix: u.prefix, doc });
  const images = t.images.map((s) => ({ ref: s.ref.expanded, digest: s.manifestDigest }));
  const text = renderSbom({ images, documents, created: sbom.created });
  onSbom(text);
  return fileEntry(cleanName(sbom.path), text, { source: 'linuxkit.sbom', location: 'sbom', mtime });
}

async function trailer(
  t: TrailerInput,
  env: SectionEnv,
  used: ImageUse[],
  onSbom: (text: string) => void,
): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  if (t.dockerfile) {
    info(env.reporter, '  Adding Dockerfile');
    out.push({
      header: {
        name: 'Dockerfile',
        type: 'file',
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime: env.mtime,
        size: DOCKERFILE.length,
      },
      body: Readable.from([Buffer.from(DOCKERFILE)]),
    });
  }
  if (t.sbom !== undefined) out.push(await sbomEntry(t, t.sbom, used, env.mtime, onSbom));
  return out.filter((e) => env.tracker.admit(e.header, 'trailer'));
}

/** A section of the stream as the assembly describes it; `section()` makes the `RootfsSection` of it. */
interface SectionSpec {
  id: string;
  /** What its entries depend on, besides the sections before it and the build-wide inputs. */
  inputs: unknown;
  generate(): EntryStream;
  /** Data the section must give back on replay (after `generate()` was drained). */
  side?(): Pick<SectionRecord, 'json' | 'blobs'>;
  /** Redoes the section's side effects from its record instead of generating it. */
  replay?(record: SectionRecord): void;
}

/**
 * Section keys. A section's entries are a function of its own inputs, the build-wide inputs (mtime, id map,
 * volumes, the paths later sections claim) and what the sections before it wrote: `state` digests that, as
 * the chain of their written-path lists (so a changed file content, which writes the same paths, leaves
 * every later key unchanged).
 */
class KeyChain {
  private state = '';
  private readonly common: string;

  constructor(common: unknown) {
    this.common = digest(JSON.stringify(common));
  }

  key(id: string, inputs: unknown): string {
    return digest(JSON.stringify({ v: SECTION_KEY_VERSION, id, state: this.state, common: this.common, inputs }));
  }

  advance(written: SectionRecord['emitted']): void {
    this.state = digest(`${this.state}\n${digest(JSON.stringify(written))}`);
  }
}

/** Bump when the entries for the same inputs change (a change to the assembly's rules). */
const SECTION_KEY_VERSION = 1;

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** One section offered to the consumer, who either drains `entries()` or calls `replay()`, once. */
class OfferedSection implements RootfsSection {
  readonly id: string;
  readonly key: string;
  private readonly spec: SectionSpec;
  private readonly tracker: PathTracker;
  private written: SectionRecord['emitted'] | undefined;
  private started = false;

  constructor(spec: SectionSpec, key: string, tracker: PathTracker) {
    this.id = spec.id;
    this.key = key;
    this.spec = spec;
    this.tracker = tracker;
  }

  async *entries(): EntryStream {
    this.take();
    this.tracker.startLog();
    try {
      yield* this.spec.generate();
    } finally {
      this.written = this.tracker.takeLog();
    }
  }

  replay(record: SectionRecord): void {
    this.take();
    this.tracker.replay(record.emitted);
    this.spec.replay?.(record);
    this.written = record.emitted;
  }

  record(): SectionRecord {
    if (this.written === undefined) throw new Error(`section ${this.id} was not generated`);
    return { emitted: this.written, ...this.spec.side?.() };
  }

  /** What it wrote; throws when the consumer asked for the next section without finishing this one. */
  settled(): SectionRecord['emitted'] {
    if (this.written === undefined)
      throw new Error(`section ${this.id} was neither read to its end nor replayed: this is a bug`);
    return this.written;
  }

  private take(): void {
    if (this.started) throw new Error(`section ${this.id} was read twice: this is a bug`);
    this.started = true;
  }
}

function* offer(spec: SectionSpec, chain: KeyChain, tracker: PathTracker): Generator<RootfsSection> {
  const s = new OfferedSection(spec, chain.key(spec.id, spec.inputs), tracker);
  yield s;
  chain.advance(s.settled());
}

async function kernelSpec(k: KernelInput, env: SectionEnv): Promise<SectionSpec> {
  const { source: kernel, spec } = k;
  // The init images' symlinks (Debian's lib → usr/lib) decide where the modules go: read before the kernel.
  const through =
    k.init.length > 0 && spec.tar !== '' && spec.tar !== 'none'
      ? await initSymlinks(k.init, env.deps, k.tocs, env.reporter)
      : new Map<string, string>();
  const via = through.size === 0 ? {} : { through: [...through] };
  const inputs = {
    location: 'kernel',
    ref: kernel.ref.expanded,
    digest: kernel.manifestDigest,
    spec,
    decompress: k.decompress,
    mtime: env.mtime,
    context: env.keyContext,
    ...via,
  };
  const key = sectionKey(inputs);
  let parts: KernelParts | undefined;
  const onParts = (p: KernelParts): void => {
    parts = p;
    k.onKernel?.(p);
  };
  const generate = (): EntryStream => {
    const stream = reuseOr(
      env.inputTar,
      {
        location: 'kernel',
        key,
        onReuse: () => info(env.reporter, `Copy kernel files from input tar: ${kernel.ref.expanded}`),
      },
      () => {
        info(env.reporter, `Extract kernel image: ${kernel.ref.expanded}`);
        return kernelSection({
          spec,
          source: kernel,
          deps: env.deps,
          decompress: k.decompress,
          mtime: env.mtime,
          workDir: k.workDir,
          onParts,
          through,
        });
      },
    );
    return env.tracker.filter(env.inputTar === undefined ? stream : captureKernel(stream, onParts), 'kernel', key);
  };
  const side = (): Pick<SectionRecord, 'json' | 'blobs'> => ({
    json: { cmdline: parts?.cmdline ?? '', ...(parts?.config === undefined ? {} : { config: parts.config }) },
    blobs: { kernel: parts?.kernel ?? Buffer.alloc(0), ...(parts?.ucode === undefined ? {} : { ucode: parts.ucode }) },
  });
  const replay = (r: SectionRecord): void => {
    info(env.reporter, `Extract kernel image: ${kernel.ref.expanded}`);
    const json = (r.json ?? {}) as { cmdline?: string; config?: string };
    const ucode = r.kept?.ucode ?? r.blobs?.ucode;
    k.onKernel?.({
      kernel: r.kept?.kernel ?? r.blobs?.kernel ?? Buffer.alloc(0),
      cmdline: json.cmdline ?? '',
      ...(ucode === undefined ? {} : { ucode }),
      ...(json.config === undefined ? {} : { config: json.config }),
    });
  };
  return { id: 'kernel', inputs, generate, side, replay };
}

/** The options every init section reads (claimInitPaths reads them too, before any section). */
function initOptions(init: InitInput, env: SectionEnv): InitSectionOptions {
  return {
    sources: init.sources,
    deps: env.deps,
    tracker: env.tracker,
    mtime: env.mtime,
    reporter: env.reporter,
    ...(init.tocs === undefined ? {} : { tocs: init.tocs }),
  };
}

/** One section per init image; `dbs` are the images' apk databases (claimInitPaths), merged into the last. */
function initSpecs(o: InitSectionOptions, dbs: Buffer[]): SectionSpec[] {
  const digests = o.sources.map((s) => s.manifestDigest);
  return o.sources.map((_, i) => ({
    id: `init[${i}]`,
    inputs: { digests, i, apk: dbs.length > 1 },
    generate: () => initImageSection(o, i, dbs),
  }));
}

/** One section per volume of the spec. */
function volumeSpecs(v: VolumesInput, env: SectionEnv): SectionSpec[] {
  const o: VolumeSectionOptions = {
    volumes: v.volumes,
    sources: v.sources,
    ociSources: v.ociSources,
    deps: env.deps,
    tracker: env.tracker,
    mtime: env.mtime,
    keyContext: env.keyContext,
    inputTar: env.inputTar,
    onReuse: (l, ref) => info(env.reporter, `Copy ${l} files from input tar: ${ref}`),
  };
  return o.volumes.map((volume, i) => {
    const sources = o.ociSources.get(i) ?? [o.sources[i]];
    return {
      id: `volume[${i}]`,
      inputs: { volume, digests: sources.map((s) => s?.manifestDigest) },
      generate: () => volumeStream(o, i),
    };
  });
}

/**
 * One section per container (onboot, onshutdown, services, in order), the first of each kind with its log
 * title. `unpacked` receives each image as it is unpacked, and where (for the SBOM).
 */
function containerSpecs(
  containers: ContainerItem[],
  env: SectionEnv,
  unpacked: ImageUse[],
): Array<{ title?: string; spec: () => SectionSpec }> {
  const shared = new Map<string, string>();
  const titles = {
    onboot: 'Add onboot containers:',
    onshutdown: 'Add onshutdown containers:',
    services: 'Add service containers:',
  };
  const out: Array<{ title?: string; spec: () => SectionSpec }> = [];
  for (const section of ['onboot', 'onshutdown', 'services'] as const) {
    const items = containers.filter((c) => c.section === section);
    const o: BundleSectionOptions = {
      items,
      deps: env.deps,
      tracker: env.tracker,
      mtime: env.mtime,
      onContainer: (c) => info(env.reporter, `  Create OCI config for ${c.entry.image}`),
      onUnpack: (source, prefix) => void unpacked.push({ source, prefix }),
      keyContext: env.keyContext,
      inputTar: env.inputTar,
      onReuse: (l, ref) => info(env.reporter, `Copy ${l} files from input tar: ${ref}`),
    };
    for (const [i, item] of items.entries()) {
      out.push({
        ...(i === 0 ? { title: titles[section] } : {}),
        spec: () => ({
          id: `${item.section}[${item.index}]`,
          inputs: bundleKeyInputs(item, o, shared),
          generate: () => bundleStream(item, o, shared),
          replay: () => {
            noteBundle(item, o, shared);
            o.onContainer?.(item);
          },
        }),
      });
    }
  }
  return out;
}

async function* entriesOf(entries: Iterable<TarEntry>): EntryStream {
  for (const e of entries) yield await Promise.resolve(e);
}

async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/** The `files` section's own inputs: every plan, with a host file's contents as their digest. */
async function filesInputs(plans: FilePlan[]): Promise<unknown> {
  const out: unknown[] = [];
  for (const p of plans) {
    const { hostPath, data, ...rest } = p;
    out.push({
      ...rest,
      ...(data === undefined ? {} : { data: digest(data.toString('latin1')) }),
      ...(hostPath === undefined ? {} : { contents: await hashFile(hostPath) }),
    });
  }
  return out;
}

function filesSpec(plans: FilePlan[], env: SectionEnv, inputs: unknown): SectionSpec {
  const warnings: string[] = [];
  const warn = (message: string): void => {
    warnings.push(message);
    env.reporter.emit({ type: 'warn', message });
  };
  return {
    id: 'files',
    inputs,
    generate: () => entriesOf(filesSection({ plans, tracker: env.tracker, mtime: env.mtime, warn })),
    side: () => ({ json: { warnings } }),
    replay: (r) => {
      for (const message of (r.json as { warnings?: string[] } | undefined)?.warnings ?? [])
        env.reporter.emit({ type: 'warn', message });
    },
  };
}

function attestationDigests(s: ImageSource): string[] {
  const a = (s as { attestations?: Array<{ manifest?: { layers?: Array<{ digest: string }> } }> }).attestations;
  return (a ?? []).flatMap((x) => (x.manifest?.layers ?? []).map((l) => l.digest));
}

/** The trailer, once the containers are made: `used` is every image unpacked, and where. */
function trailerSpec(t: TrailerInput, env: SectionEnv, used: ImageUse[]): SectionSpec {
  const images = t.images.map((s) => ({
    ref: s.ref.expanded,
    digest: s.manifestDigest,
    attestations: attestationDigests(s),
  }));
  const inputs = {
    dockerfile: t.dockerfile,
    sbom: t.sbom,
    images,
    used: used.map((u) => ({ ref: u.source.ref.expanded, digest: u.source.manifestDigest, prefix: u.prefix })),
  };
  let sbomText: string | undefined;
  const onSbom = (text: string): void => {
    sbomText = text;
    t.onSbom?.(text);
  };
  return {
    id: 'trailer',
    inputs,
    generate: async function* () {
      yield* await trailer(t, env, used, onSbom);
    },
    // the SBOM's text is given back on replay, so `build --push` attaches it from a cached trailer too
    side: () => (sbomText === undefined ? {} : { blobs: { sbom: Buffer.from(sbomText) } }),
    replay: (r) => {
      if (t.dockerfile) info(env.reporter, '  Adding Dockerfile');
      if (r.blobs?.sbom !== undefined) t.onSbom?.(r.blobs.sbom.toString('utf8'));
    },
  };
}

/**
 * The paths later sections write, claimed before the first section (tracker.ts: a later section's file wins
 * over an earlier image's): the init images' (their merge, with the apk databases it returns), the files', the
 * trailer's.
 */
async function claimPaths(s: SectionInputs, init: InitSectionOptions, tracker: PathTracker): Promise<Buffer[]> {
  const dbs = await claimInitPaths(init);
  claimFiles(s.files, tracker);
  if (s.trailer.dockerfile) tracker.claim('Dockerfile', 'trailer');
  if (s.trailer.sbom !== undefined) tracker.claim(cleanName(s.trailer.sbom.path), 'trailer');
  return dbs;
}

/**
 * The root filesystem as a list of sections (kernel, each init image, each volume, each container, files,
 * trailer), each with a key that determines its entries (given the same earlier sections). The consumer
 * drains each section's entries or replays it from an earlier build's record before asking for the next.
 * Each section is made from its own input (`SectionInputs`) and the build-wide `SectionEnv`.
 * Fails (MobyError) on a bad kernel image, unsafe content or an unusable file.
 */
export async function* assembleSections(input: AssembleInput): AsyncGenerator<RootfsSection> {
  const s = sectionInputs(input);
  const tracker = new PathTracker(input.mtime);
  const env: SectionEnv = {
    tracker,
    deps: input.deps,
    mtime: input.mtime,
    reporter: input.reporter,
    keyContext: input.keyContext,
    inputTar: input.inputTar,
  };
  const initOpts = initOptions(s.init, env);
  const dbs = await claimPaths(s, initOpts, tracker);
  const chain = new KeyChain({
    mtime: input.mtime,
    context: input.keyContext,
    claims: digest(JSON.stringify([...tracker.claims])),
  });
  if (s.kernel !== undefined) yield* offer(await kernelSpec(s.kernel, env), chain, tracker);
  if (s.init.sources.length > 0) {
    info(env.reporter, 'Add init containers:');
    for (const src of s.init.sources) info(env.reporter, `Process init image: ${src.ref.expanded}`);
    for (const spec of initSpecs(initOpts, dbs)) yield* offer(spec, chain, tracker);
  }
  if (s.volumes.sources.length > 0) {
    info(env.reporter, 'Add volumes:');
    for (const v of s.volumes.volumes) info(env.reporter, `Process volume image: ${v.name}`);
    for (const spec of volumeSpecs(s.volumes, env)) yield* offer(spec, chain, tracker);
  }
  const unpacked: ImageUse[] = [];
  for (const c of containerSpecs(s.containers, env, unpacked)) {
    if (c.title !== undefined) info(env.reporter, c.title);
    yield* offer(c.spec(), chain, tracker);
  }
  if (s.files.length > 0) {
    info(env.reporter, 'Add files:');
    for (const p of s.files) info(env.reporter, `  ${p.path}`);
    yield* offer(filesSpec(s.files, env, await filesInputs(s.files)), chain, tracker);
  }
  if (s.trailer.dockerfile || s.trailer.sbom !== undefined)
    yield* offer(trailerSpec(s.trailer, env, [...s.trailer.unpackedBefore, ...unpacked]), chain, tracker);
}

/** The root filesystem stream: every section's entries in order. */
export async function* assembleRootfs(input: AssembleInput): EntryStream {
  for await (const s of assembleSections(input)) yield* s.entries();
}
