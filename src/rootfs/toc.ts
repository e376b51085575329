/**
 * Tables of contents of images, kept between builds (store/image-tocs.ts): what the assembly needs to know
 * about an image before it reads any data — which paths it has, which are symlinks, its directory headers —
 * planned from its layers' tables of contents (store/layer-toc.ts: made as each layer entered the cache, or
 * here from the layer the first time) and then taken from the cache, so a build whose sections are all cached
 * does not decompress a layer.
 */
import { tocKey } from '../store/image-tocs.ts';
import type { ImageSource } from '../image/source.ts';
import type { Descriptor } from '../oci/types.ts';
import { isLayerToc, layerTocWhat, makeLayerToc, tocEntries } from '../store/layer-toc.ts';
import type { EntryStream } from '../tar/entry.ts';
import type { Reporter } from '../util/reporter.ts';
import type { RootfsDeps } from './deps.ts';
import { cleanName } from './safe-name.ts';

/** A small key → JSON store kept between builds; failures mean "absent". */
export interface TocStore {
  get(key: string): Promise<unknown>;
  put(key: string, value: unknown): Promise<void>;
}

/**
 * The table of contents `what` identifies (JSON: the image's manifest digest, the view and its version):
 * from `tocs`, or made by `read` and stored there. Through JSON either way, so a build that made it and one
 * that read it work from the very same values. `made` is told which it was.
 */
export async function cachedToc<T>(
  tocs: TocStore | undefined,
  what: Record<string, unknown>,
  read: () => Promise<T>,
  made?: (from: 'cache' | 'layers', toc: T) => void,
): Promise<T> {
  const saved = (await savedToc(tocs, what)) as T | undefined;
  if (saved !== undefined) {
    made?.('cache', saved);
    return saved;
  }
  const toc = await putToc(tocs, what, await read());
  made?.('layers', toc);
  return toc;
}

/** The value kept under `what` in `tocs`, or undefined (none kept, damaged, or no store). */
export async function savedToc(tocs: TocStore | undefined, what: Record<string, unknown>): Promise<unknown> {
  return tocs?.get(tocKey(what)).catch(() => undefined);
}

/** Stores `toc` as the table of contents `what` identifies (best effort); returns it as read back from JSON. */
export async function putToc<T>(tocs: TocStore | undefined, what: Record<string, unknown>, toc: T): Promise<T> {
  const json = JSON.parse(JSON.stringify(toc)) as T;
  await tocs?.put(tocKey(what), json).catch(() => {});
  return json;
}

/** An image's entries in order, as the kernel's placement needs them: [name, d(irectory)/l(ink)/o(ther), target]. */
export type LinkToc = Array<[string, 'd' | 'l' | 'o', string?]>;

/** Identifies the `LinkToc` of the image whose manifest digest is `digest` (bump `v` when what it records changes). */
export function linkTocOf(digest: string): Record<string, unknown> {
  return { toc: 'links', v: 1, digest };
}

/**
 * Passes a flattened image's `entries` through, noting each in `into`; `done` is called once they have all
 * passed (a consumer that stopped early leaves `into` incomplete, and `done` uncalled).
 */
export async function* noteLinks(entries: EntryStream, into: LinkToc, done: () => Promise<void>): EntryStream {
  for await (const e of entries) {
    const name = cleanName(e.header.name);
    const kind = e.header.type;
    into.push(kind === 'symlink' ? [name, 'l', e.header.linkname ?? ''] : [name, kind === 'directory' ? 'd' : 'o']);
    yield e;
  }
  await done();
}

/**
 * The image flattened from its layers' tables of contents (store/layer-toc.ts) by the rules the data pass
 * uses: headers, and only the bodies a TOC keeps. A layer whose TOC is missing (a cache filled by LinuxKit, or
 * one emptied) is read once to make it, and the TOC is stored.
 */
export function plannedFlatten(
  deps: RootfsDeps,
  src: ImageSource,
  tocs: TocStore | undefined,
  reporter: Reporter,
): EntryStream {
  return deps.flatten(src, (layer) => layerToc(src, layer, tocs, reporter));
}

async function layerToc(
  src: ImageSource,
  layer: Descriptor,
  tocs: TocStore | undefined,
  reporter: Reporter,
): Promise<EntryStream> {
  const what = layerTocWhat(layer.digest);
  const saved = await savedToc(tocs, what);
  if (isLayerToc(saved)) return tocEntries(saved);
  // A layer still downloading (a build's pull hands images over first) gets its TOC made on the way in:
  // opening it waits for it, then that TOC is used and the layer is not read here.
  const raw = await src.openLayer(layer);
  const fetched = await savedToc(tocs, what);
  if (isLayerToc(fetched)) {
    raw.destroy();
    return tocEntries(fetched);
  }
  const made = await makeLayerToc(raw, `layer ${layer.digest} of ${src.ref.expanded}`);
  reporter.emit({
    type: 'debug',
    message: `layer ${layer.digest} table of contents: read from the layer, ${made.rows.length} entries (${src.ref.expanded})`,
  });
  return tocEntries(await putToc(tocs, what, made));
}
