/**
 * Tables of contents of images, kept between builds (store/image-tocs.ts): what the assembly needs to know
 * about an image before it reads any data — which paths it has, which are symlinks, its directory headers —
 * read from the image's layers the first time and then taken from the cache, so a build whose sections are all
 * cached does not decompress a layer.
 */
import { createHash } from 'node:crypto';
import type { EntryStream } from '../tar/entry.ts';
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
  return tocs?.get(keyOf(what)).catch(() => undefined);
}

/** Stores `toc` as the table of contents `what` identifies (best effort); returns it as read back from JSON. */
export async function putToc<T>(tocs: TocStore | undefined, what: Record<string, unknown>, toc: T): Promise<T> {
  const json = JSON.parse(JSON.stringify(toc)) as T;
  await tocs?.put(keyOf(what), json).catch(() => {});
  return json;
}

function keyOf(what: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(what)).digest('hex');
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
