/**
 * Container bundles (docs/linuxkit-behaviour.md#bundles): `containers/onboot/NNN-name`,
 * `containers/onshutdown/NNN-name`, `containers/services/name`, each with `config.json`, `runtime.json` and the image
 * filesystem in `rootfs/` (readonly containers) or `lower/` with empty `tmp/` and `rootfs/` (overlay at boot). An image
 * used by several containers is unpacked once, by its first user; the others point at that directory.
 */
import type { ImageSource } from '../image/source.ts';
import type { ContainerSection, ImageEntry } from '../spec/types.ts';
import type { EntryStream, TarEntry } from '../tar/entry.ts';
import type { RootfsDeps } from './deps.ts';
import { imageEntries } from './image-entries.ts';
import { reuseOr, sectionKey, type InputTar } from './reuse.ts';
import { dirEntry, fileEntry, type Provenance } from './synth.ts';
import type { PathTracker } from './tracker.ts';

export interface ContainerItem {
  section: ContainerSection;
  index: number;
  entry: ImageEntry;
  source: ImageSource;
}

export interface BundleSectionOptions {
  items: ContainerItem[];
  deps: RootfsDeps;
  tracker: PathTracker;
  mtime: number;
  /** Log line per container (`  Create OCI config for <image>`). */
  onContainer?(item: ContainerItem): void;
  /** Called when an image is unpacked, with the directory it goes to (for the SBOM). */
  onUnpack?(source: ImageSource, prefix: string): void;
  keyContext?: unknown;
  inputTar?: InputTar;
  onReuse?(location: string, ref: string): void;
}

function* leadingDirs(path: string, o: Provenance & { mtime: number }): Generator<TarEntry> {
  const parts = path.split('/');
  for (let i = 1; i <= parts.length; i++) yield dirEntry(parts.slice(0, i).join('/'), o);
}

async function* bundle(item: ContainerItem, o: BundleSectionOptions, shared: Map<string, string>): EntryStream {
  const ref = item.source.ref.expanded;
  const first = shared.get(ref);
  const b = o.deps.bundle({
    section: item.section,
    index: item.index,
    entry: item.entry,
    image: item.source.config,
    ...(first === undefined ? {} : { sharedRoot: first }),
  });
  const p = { source: ref, location: `${item.section}[${item.index}]`, mtime: o.mtime };
  yield* leadingDirs(b.readonly ? `${b.path}/rootfs` : (b.extractTo ?? b.path), p);
  if (b.extractTo !== undefined) {
    shared.set(ref, b.extractTo);
    o.onUnpack?.(item.source, b.extractTo);
    yield* imageEntries(item.source, (s) => o.deps.flatten(s), {
      prefix: b.extractTo,
      resolv: 'text',
      ...p,
      hint: (h) => o.tracker.hintDirs(h),
    });
  }
  o.onContainer?.(item);
  yield fileEntry(`${b.path}/config.json`, b.configJson, p);
  if (!b.readonly) {
    yield dirEntry(`${b.path}/tmp`, p);
    yield dirEntry(`${b.path}/rootfs`, p);
  }
  yield fileEntry(`${b.path}/runtime.json`, b.runtimeJson, p);
}

/**
 * Bundles of `o.items`, in order. `shared` (expanded ref → directory the image was unpacked to) must be the
 * same map across onboot, onshutdown and services: LinuxKit's de-duplication spans all three.
 */
export async function* bundleSection(o: BundleSectionOptions, shared: Map<string, string>): EntryStream {
  for (const item of o.items) yield* bundleStream(item, o, shared);
}

/** What a bundle's entries depend on besides the sections before it (its `--input-tar` key's inputs). */
export function bundleKeyInputs(
  item: ContainerItem,
  o: Pick<BundleSectionOptions, 'mtime' | 'keyContext'>,
  shared: ReadonlyMap<string, string>,
): unknown {
  const ref = item.source.ref.expanded;
  return {
    location: `${item.section}[${item.index}]`,
    ref,
    digest: item.source.manifestDigest,
    entry: item.entry,
    sharedRoot: shared.get(ref),
    mtime: o.mtime,
    context: o.keyContext,
  };
}

/**
 * The bookkeeping of a bundle whose entries are not generated (copied from an input tar or replayed from the
 * section cache): the first user of an image records where it is unpacked, for later users and the SBOM.
 */
export function noteBundle(item: ContainerItem, o: BundleSectionOptions, shared: Map<string, string>): void {
  const ref = item.source.ref.expanded;
  if (shared.has(ref)) return;
  const extractTo =
    o.deps.bundle({ section: item.section, index: item.index, entry: item.entry, image: item.source.config })
      .extractTo ?? '';
  shared.set(ref, extractTo);
  o.onUnpack?.(item.source, extractTo);
}

/** One container's bundle. */
export async function* bundleStream(
  item: ContainerItem,
  o: BundleSectionOptions,
  shared: Map<string, string>,
): EntryStream {
  const location = `${item.section}[${item.index}]`;
  const key = sectionKey(bundleKeyInputs(item, o, shared));
  const generated = (): EntryStream => bundle(item, o, shared);
  const onReuse = (): void => {
    o.onReuse?.(location, item.entry.image);
    noteBundle(item, o, shared);
  };
  yield* o.tracker.filter(reuseOr(o.inputTar, { location, key, onReuse }, generated), location, key);
}
