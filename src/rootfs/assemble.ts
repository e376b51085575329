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
import type { MobySpec } from '../spec/types.ts';
import type { EntryStream, TarEntry } from '../tar/entry.ts';
import type { Reporter } from '../util/reporter.ts';
import { bundleKeyInputs, bundleStream, noteBundle, type BundleSectionOptions, type ContainerItem } from './bundles.ts';
import type { RootfsDeps } from './deps.ts';
import { claimFiles, filesSection, type FilePlan } from './files.ts';
import { claimInitPaths, initImageSection } from './init.ts';
import type { TocStore } from './toc.ts';
import { initSymlinks, kernelSection, type KernelParts } from './kernel.ts';
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
  onKernel?(parts: KernelParts): void;
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

function uses(input: AssembleInput, bundles: ImageUse[]): ImageUse[] {
  const { kernel, init, volumes } = input.images;
  const specs = input.spec.volumes ?? [];
  return [
    ...(kernel === undefined ? [] : [{ source: kernel, prefix: '' }]),
    ...init.map((source) => ({ source, prefix: '' })),
    ...volumes.flatMap((source, i) =>
      source === undefined || specs[i]?.format === 'oci'
        ? []
        : [{ source, prefix: `containers/volumes/${specs[i]?.name ?? ''}/lower` }],
    ),
    ...bundles,
  ];
}

async function sbomEntry(
  input: AssembleInput,
  sbom: { path: string; created: number },
  used: ImageUse[],
): Promise<TarEntry> {
  const documents: SbomDocument[] = [];
  for (const u of used) for (const doc of await spdxDocuments(u.source)) documents.push({ prefix: u.prefix, doc });
  const images = allImages(input.images).map((s) => ({ ref: s.ref.expanded, digest: s.manifestDigest }));
  const text = renderSbom({ images, documents, created: sbom.created });
  input.onSbom?.(text);
  return fileEntry(cleanName(sbom.path), text, { source: 'linuxkit.sbom', location: 'sbom', mtime: input.mtime });
}

async function trailer(input: AssembleInput, tracker: PathTracker, used: ImageUse[]): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  if (input.dockerfile) {
    info(input.reporter, '  Adding Dockerfile');
    out.push({
      header: {
        name: 'Dockerfile',
        type: 'file',
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime: input.mtime,
        size: DOCKERFILE.length,
      },
      body: Readable.from([Buffer.from(DOCKERFILE)]),
    });
  }
  if (input.sbom !== undefined) out.push(await sbomEntry(input, input.sbom, used));
  return out.filter((e) => tracker.admit(e.header, 'trailer'));
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

async function kernelSpec(input: AssembleInput, tracker: PathTracker): Promise<SectionSpec | undefined> {
  const { kernel } = input.images;
  if (kernel === undefined || input.spec.kernel === undefined) return undefined;
  const spec = input.spec.kernel;
  // The init images' symlinks (Debian's lib → usr/lib) decide where the modules go: read before the kernel.
  const through =
    input.images.init.length > 0 && spec.tar !== '' && spec.tar !== 'none'
      ? await initSymlinks(input.images.init, input.deps, input.tocs, input.reporter)
      : new Map<string, string>();
  const via = through.size === 0 ? {} : { through: [...through] };
  const inputs = {
    location: 'kernel',
    ref: kernel.ref.expanded,
    digest: kernel.manifestDigest,
    spec,
    decompress: input.decompressKernel,
    mtime: input.mtime,
    context: input.keyContext,
    ...via,
  };
  const key = sectionKey(inputs);
  let parts: KernelParts | undefined;
  const onParts = (p: KernelParts): void => {
    parts = p;
    input.onKernel?.(p);
  };
  const generate = (): EntryStream => {
    const stream = reuseOr(
      input.inputTar,
      {
        location: 'kernel',
        key,
        onReuse: () => info(input.reporter, `Copy kernel files from input tar: ${kernel.ref.expanded}`),
      },
      () => {
        info(input.reporter, `Extract kernel image: ${kernel.ref.expanded}`);
        return kernelSection({
          spec,
          source: kernel,
          deps: input.deps,
          decompress: input.decompressKernel,
          mtime: input.mtime,
          workDir: input.workDir,
          onParts,
          through,
        });
      },
    );
    return tracker.filter(input.inputTar === undefined ? stream : captureKernel(stream, onParts), 'kernel', key);
  };
  const side = (): Pick<SectionRecord, 'json' | 'blobs'> => ({
    json: { cmdline: parts?.cmdline ?? '', ...(parts?.config === undefined ? {} : { config: parts.config }) },
    blobs: { kernel: parts?.kernel ?? Buffer.alloc(0), ...(parts?.ucode === undefined ? {} : { ucode: parts.ucode }) },
  });
  const replay = (r: SectionRecord): void => {
    info(input.reporter, `Extract kernel image: ${kernel.ref.expanded}`);
    const json = (r.json ?? {}) as { cmdline?: string; config?: string };
    input.onKernel?.({
      kernel: r.blobs?.kernel ?? Buffer.alloc(0),
      cmdline: json.cmdline ?? '',
      ...(r.blobs?.ucode === undefined ? {} : { ucode: r.blobs.ucode }),
      ...(json.config === undefined ? {} : { config: json.config }),
    });
  };
  return { id: 'kernel', inputs, generate, side, replay };
}

function containerSpecs(
  input: AssembleInput,
  tracker: PathTracker,
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
    const items = input.images.containers.filter((c) => c.section === section);
    const o: BundleSectionOptions = {
      items,
      deps: input.deps,
      tracker,
      mtime: input.mtime,
      onContainer: (c) => info(input.reporter, `  Create OCI config for ${c.entry.image}`),
      onUnpack: (source, prefix) => void unpacked.push({ source, prefix }),
      keyContext: input.keyContext,
      inputTar: input.inputTar,
      onReuse: (l, ref) => info(input.reporter, `Copy ${l} files from input tar: ${ref}`),
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

function filesSpec(input: AssembleInput, tracker: PathTracker, inputs: unknown): SectionSpec {
  const warnings: string[] = [];
  const warn = (message: string): void => {
    warnings.push(message);
    input.reporter.emit({ type: 'warn', message });
  };
  return {
    id: 'files',
    inputs,
    generate: () => entriesOf(filesSection({ plans: input.files, tracker, mtime: input.mtime, warn })),
    side: () => ({ json: { warnings } }),
    replay: (r) => {
      for (const message of (r.json as { warnings?: string[] } | undefined)?.warnings ?? [])
        input.reporter.emit({ type: 'warn', message });
    },
  };
}

function attestationDigests(s: ImageSource): string[] {
  const a = (s as { attestations?: Array<{ manifest?: { layers?: Array<{ digest: string }> } }> }).attestations;
  return (a ?? []).flatMap((x) => (x.manifest?.layers ?? []).map((l) => l.digest));
}

function trailerSpec(input: AssembleInput, tracker: PathTracker, used: ImageUse[]): SectionSpec {
  const images = allImages(input.images).map((s) => ({
    ref: s.ref.expanded,
    digest: s.manifestDigest,
    attestations: attestationDigests(s),
  }));
  const inputs = {
    dockerfile: input.dockerfile,
    sbom: input.sbom,
    images,
    used: used.map((u) => ({ ref: u.source.ref.expanded, digest: u.source.manifestDigest, prefix: u.prefix })),
  };
  let sbomText: string | undefined;
  const withSbom: AssembleInput = {
    ...input,
    onSbom: (text) => {
      sbomText = text;
      input.onSbom?.(text);
    },
  };
  return {
    id: 'trailer',
    inputs,
    generate: async function* () {
      yield* await trailer(withSbom, tracker, used);
    },
    // the SBOM's text is given back on replay, so `build --push` attaches it from a cached trailer too
    side: () => (sbomText === undefined ? {} : { blobs: { sbom: Buffer.from(sbomText) } }),
    replay: (r) => {
      if (input.dockerfile) info(input.reporter, '  Adding Dockerfile');
      if (r.blobs?.sbom !== undefined) input.onSbom?.(r.blobs.sbom.toString('utf8'));
    },
  };
}

/**
 * The root filesystem as a list of sections (kernel, each init image, each volume, each container, files,
 * trailer), each with a key that determines its entries (given the same earlier sections). The consumer
 * drains each section's entries or replays it from an earlier build's record before asking for the next.
 * Fails (MobyError) on a bad kernel image, unsafe content or an unusable file.
 */
export async function* assembleSections(input: AssembleInput): AsyncGenerator<RootfsSection> {
  const tracker = new PathTracker(input.mtime);
  const initOpts = {
    sources: input.images.init,
    deps: input.deps,
    tracker,
    mtime: input.mtime,
    reporter: input.reporter,
    ...(input.tocs === undefined ? {} : { tocs: input.tocs }),
  };
  const dbs = await claimInitPaths(initOpts);
  claimFiles(input.files, tracker);
  if (input.dockerfile) tracker.claim('Dockerfile', 'trailer');
  if (input.sbom !== undefined) tracker.claim(cleanName(input.sbom.path), 'trailer');
  const chain = new KeyChain({
    mtime: input.mtime,
    context: input.keyContext,
    claims: digest(JSON.stringify([...tracker.claims])),
  });
  const kernel = await kernelSpec(input, tracker);
  if (kernel !== undefined) yield* offer(kernel, chain, tracker);
  if (input.images.init.length > 0) {
    info(input.reporter, 'Add init containers:');
    for (const s of input.images.init) info(input.reporter, `Process init image: ${s.ref.expanded}`);
    const digests = input.images.init.map((s) => s.manifestDigest);
    for (let i = 0; i < input.images.init.length; i++) {
      yield* offer(
        {
          id: `init[${i}]`,
          inputs: { digests, i, apk: dbs.length > 1 },
          generate: () => initImageSection(initOpts, i, dbs),
        },
        chain,
        tracker,
      );
    }
  }
  if (input.images.volumes.length > 0) {
    info(input.reporter, 'Add volumes:');
    for (const v of input.spec.volumes ?? []) info(input.reporter, `Process volume image: ${v.name}`);
    const o: VolumeSectionOptions = {
      volumes: input.spec.volumes ?? [],
      sources: input.images.volumes,
      ociSources: input.images.ociVolumes ?? new Map<number, ImageSource[]>(),
      deps: input.deps,
      tracker,
      mtime: input.mtime,
      keyContext: input.keyContext,
      inputTar: input.inputTar,
      onReuse: (l, ref) => info(input.reporter, `Copy ${l} files from input tar: ${ref}`),
    };
    for (let i = 0; i < o.volumes.length; i++) {
      const sources = o.ociSources.get(i) ?? [o.sources[i]];
      yield* offer(
        {
          id: `volume[${i}]`,
          inputs: { volume: o.volumes[i], digests: sources.map((s) => s?.manifestDigest) },
          generate: () => volumeStream(o, i),
        },
        chain,
        tracker,
      );
    }
  }
  const unpacked: ImageUse[] = [];
  for (const c of containerSpecs(input, tracker, unpacked)) {
    if (c.title !== undefined) info(input.reporter, c.title);
    yield* offer(c.spec(), chain, tracker);
  }
  if (input.files.length > 0) {
    info(input.reporter, 'Add files:');
    for (const p of input.files) info(input.reporter, `  ${p.path}`);
    yield* offer(filesSpec(input, tracker, await filesInputs(input.files)), chain, tracker);
  }
  if (input.dockerfile || input.sbom !== undefined)
    yield* offer(trailerSpec(input, tracker, uses(input, unpacked)), chain, tracker);
}

/** The root filesystem stream: every section's entries in order. */
export async function* assembleRootfs(input: AssembleInput): EntryStream {
  for await (const s of assembleSections(input)) yield* s.entries();
}
