/**
 * The whole OS as ONE tar entry stream (docs/linuxkit-behaviour.md#tar-order), a flat list of sections:
 * kernel → init (+ apk db) → volumes → onboot → onshutdown → services → files → [Dockerfile] → [SBOM].
 * Each path appears once (tracker.ts says which entry wins). The stream reads images lazily; the consumer
 * drains it once, in order. Log lines follow LinuxKit's (docs/linuxkit-behaviour.md#logs-exit).
 */
import { Readable } from 'node:stream';
import type { ImageSource } from '../image/source.ts';
import { spdxDocuments } from '../sbom/attestations.ts';
import { renderSbom, type SbomDocument } from '../sbom/spdx.ts';
import type { MobySpec } from '../spec/types.ts';
import type { EntryStream, TarEntry } from '../tar/entry.ts';
import type { Reporter } from '../util/reporter.ts';
import { bundleSection, type ContainerItem } from './bundles.ts';
import type { RootfsDeps } from './deps.ts';
import { claimFiles, filesSection, type FilePlan } from './files.ts';
import { claimInitPaths, initSection } from './init.ts';
import { kernelSection, type KernelParts } from './kernel.ts';
import { captureKernel, reuseOr, sectionKey, type InputTar } from './reuse.ts';
import { cleanName } from './safe-name.ts';
import { fileEntry } from './synth.ts';
import { PathTracker } from './tracker.ts';
import { volumeSection } from './volumes.ts';

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
}

function info(r: Reporter, message: string): void {
  r.emit({ type: 'info', message });
}

function allImages(i: ResolvedImages): ImageSource[] {
  const oci = [...(i.ociVolumes ?? new Map<number, ImageSource[]>()).values()].flat();
  return [i.kernel, ...i.init, ...i.volumes, ...oci, ...i.containers.map((c) => c.source)].filter((s): s is ImageSource => s !== undefined);
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
    ...volumes.flatMap((source, i) => (source === undefined || specs[i]?.format === 'oci' ? [] : [{ source, prefix: `containers/volumes/${specs[i]?.name ?? ''}/lower` }])),
    ...bundles,
  ];
}

async function sbomEntry(input: AssembleInput, sbom: { path: string; created: number }, used: ImageUse[]): Promise<TarEntry> {
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
    out.push({ header: { name: 'Dockerfile', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: input.mtime, size: DOCKERFILE.length }, body: Readable.from([Buffer.from(DOCKERFILE)]) });
  }
  if (input.sbom !== undefined) out.push(await sbomEntry(input, input.sbom, used));
  return out.filter((e) => tracker.admit(e.header, 'trailer'));
}

async function* kernelPart(input: AssembleInput, tracker: PathTracker): EntryStream {
  const { kernel } = input.images;
  if (kernel === undefined || input.spec.kernel === undefined) return;
  const spec = input.spec.kernel;
  const key = sectionKey({ location: 'kernel', ref: kernel.ref.expanded, digest: kernel.manifestDigest, spec, decompress: input.decompressKernel, mtime: input.mtime, context: input.keyContext });
  const onParts = (p: KernelParts): void => input.onKernel?.(p);
  const stream = reuseOr(input.inputTar, {
    location: 'kernel', key, onReuse: () => info(input.reporter, `Copy kernel files from input tar: ${kernel.ref.expanded}`),
  }, () => {
    info(input.reporter, `Extract kernel image: ${kernel.ref.expanded}`);
    return kernelSection({ spec, source: kernel, deps: input.deps, decompress: input.decompressKernel, mtime: input.mtime, workDir: input.workDir, onParts });
  });
  yield* tracker.filter(input.inputTar === undefined ? stream : captureKernel(stream, onParts), 'kernel', key);
}

async function* containersPart(input: AssembleInput, tracker: PathTracker, unpacked: ImageUse[]): EntryStream {
  const shared = new Map<string, string>();
  const titles = { onboot: 'Add onboot containers:', onshutdown: 'Add onshutdown containers:', services: 'Add service containers:' };
  for (const section of ['onboot', 'onshutdown', 'services'] as const) {
    const items = input.images.containers.filter((c) => c.section === section);
    if (items.length === 0) continue;
    info(input.reporter, titles[section]);
    yield* bundleSection({
      items, deps: input.deps, tracker, mtime: input.mtime,
      onContainer: (c) => info(input.reporter, `  Create OCI config for ${c.entry.image}`),
      onUnpack: (source, prefix) => void unpacked.push({ source, prefix }),
      keyContext: input.keyContext, inputTar: input.inputTar, onReuse: (l, ref) => info(input.reporter, `Copy ${l} files from input tar: ${ref}`),
    }, shared);
  }
}

/** The root filesystem stream. Fails (MobyError) on a bad kernel image, unsafe content or an unusable file. */
export async function* assembleRootfs(input: AssembleInput): EntryStream {
  const tracker = new PathTracker(input.mtime);
  const initOpts = { sources: input.images.init, deps: input.deps, tracker, mtime: input.mtime };
  const dbs = await claimInitPaths(initOpts);
  claimFiles(input.files, tracker);
  if (input.dockerfile) tracker.claim('Dockerfile', 'trailer');
  if (input.sbom !== undefined) tracker.claim(cleanName(input.sbom.path), 'trailer');
  yield* kernelPart(input, tracker);
  if (input.images.init.length > 0) {
    info(input.reporter, 'Add init containers:');
    for (const s of input.images.init) info(input.reporter, `Process init image: ${s.ref.expanded}`);
    yield* initSection(initOpts, dbs);
  }
  if (input.images.volumes.length > 0) {
    info(input.reporter, 'Add volumes:');
    for (const v of input.spec.volumes ?? []) info(input.reporter, `Process volume image: ${v.name}`);
    yield* volumeSection({
      volumes: input.spec.volumes ?? [], sources: input.images.volumes, ociSources: input.images.ociVolumes ?? new Map<number, ImageSource[]>(), deps: input.deps, tracker, mtime: input.mtime,
      keyContext: input.keyContext, inputTar: input.inputTar, onReuse: (l, ref) => info(input.reporter, `Copy ${l} files from input tar: ${ref}`),
    });
  }
  const unpacked: ImageUse[] = [];
  yield* containersPart(input, tracker, unpacked);
  if (input.files.length > 0) {
    info(input.reporter, 'Add files:');
    yield* filesSection({
      plans: input.files, tracker, mtime: input.mtime,
      onFile: (p) => info(input.reporter, `  ${p.path}`),
      warn: (message) => input.reporter.emit({ type: 'warn', message }),
    });
  }
  yield* await trailer(input, tracker, uses(input, unpacked));
}
