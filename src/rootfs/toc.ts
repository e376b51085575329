/**
 * Tables of contents of images, kept between builds (store/image-tocs.ts): what the assembly needs to know
 * about an image before it reads any data — which paths it has, which are symlinks, its directory headers —
 * read from the image's layers the first time and then taken from the cache, so a build whose sections are all
 * cached does not decompress a layer.
 */
import { createHash } from 'node:crypto';

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
  const key = createHash('sha256').update(JSON.stringify(what)).digest('hex');
  const saved = (await tocs?.get(key).catch(() => undefined)) as T | undefined;
  if (saved !== undefined) {
    made?.('cache', saved);
    return saved;
  }
  const toc = JSON.parse(JSON.stringify(await read())) as T;
  await tocs?.put(key, toc).catch(() => {});
  made?.('layers', toc);
  return toc;
}
