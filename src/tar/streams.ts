/** Small adapters between arrays and entry streams, for producers of synthetic entries and for tests. */
import type { EntryStream, TarEntry } from './entry.ts';

/** An EntryStream over a list (or any iterable) of entries, in order. */
export function entryStreamOf(entries: Iterable<TarEntry>): EntryStream {
  return {
    [Symbol.asyncIterator]() {
      const it = entries[Symbol.iterator]();
      return { next: () => Promise.resolve(it.next()) };
    },
  };
}
