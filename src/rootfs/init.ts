/**
 * Init images at `/` (linuxkit.md §1.4, §3.4) and the consolidated apk database.
 *
 * With several init images a header-only pre-scan records which image provides each path last, so that the
 * stream carries, per path, the entry that wins when LinuxKit's tar is unpacked (see tracker.ts); the
 * pre-scan also collects every `lib/apk/db/installed`, and when there is more than one, the concatenation
 * (each followed by two newlines, mtime 0 as LinuxKit writes it) replaces them all.
 */
import type { ImageSource } from '../image/source.ts';
import type { EntryStream } from '../tar/entry.ts';
import type { RootfsDeps } from './deps.ts';
import { filterImage, imageEntries, type ImageFilterOptions } from './image-entries.ts';
import { fileEntry, readBody, discardBody } from './synth.ts';
import type { PathTracker } from './tracker.ts';

export const APK_DB = 'lib/apk/db/installed';
const APK_OWNER = 'init-apk';

export interface InitSectionOptions {
  sources: ImageSource[];
  deps: RootfsDeps;
  tracker: PathTracker;
  mtime: number;
}

function options(o: InitSectionOptions, i: number): ImageFilterOptions {
  const src = o.sources[i] as ImageSource;
  return { prefix: '', resolv: 'symlink', mtime: o.mtime, source: src.ref.expanded, location: `init[${i}]` };
}

/** Image `i`; with `prescanned` its directory headers are already hinted (by `claimInitPaths`). */
function filtered(o: InitSectionOptions, i: number, prescanned: boolean): EntryStream {
  const src = o.sources[i] as ImageSource;
  if (prescanned) return filterImage(o.deps.flatten(src), options(o, i));
  return imageEntries(src, (s) => o.deps.flatten(s), { ...options(o, i), hint: (h) => o.tracker.hintDirs(h) });
}

/**
 * Pre-scan (several init images only): claims each path for its last provider and hints every directory
 * header; returns the apk databases in image order.
 */
export async function claimInitPaths(o: InitSectionOptions): Promise<Buffer[]> {
  const dbs: Buffer[] = [];
  if (o.sources.length < 2) return dbs;
  for (let i = 0; i < o.sources.length; i++) {
    for await (const entry of filterImage(o.deps.flatten(o.sources[i] as ImageSource), options(o, i))) {
      o.tracker.claim(entry.header.name, `init[${i}]`);
      if (entry.header.type === 'directory') o.tracker.hintDirs([entry.header]);
      if (entry.header.name === APK_DB && entry.header.type === 'file') dbs.push(await readBody(entry));
      else await discardBody(entry);
    }
  }
  if (dbs.length > 1) o.tracker.claim(APK_DB, APK_OWNER);
  return dbs;
}

/** The init section; `dbs` is what `claimInitPaths` returned. */
export async function* initSection(o: InitSectionOptions, dbs: Buffer[]): EntryStream {
  for (let i = 0; i < o.sources.length; i++) yield* initImageSection(o, i, dbs);
}

/** Init image `i` (the last one followed by the consolidated apk database when there is one). */
export async function* initImageSection(o: InitSectionOptions, i: number, dbs: Buffer[]): EntryStream {
  yield* o.tracker.filter(filtered(o, i, o.sources.length > 1), `init[${i}]`);
  if (i !== o.sources.length - 1 || dbs.length < 2) return;
  const body = Buffer.concat(dbs.flatMap((db) => [db, Buffer.from('\n\n')]));
  const entry = fileEntry(APK_DB, body, { source: 'LINUXKIT.apkinit', location: 'init', mtime: 0 });
  if (o.tracker.admit(entry.header, APK_OWNER)) yield entry;
}
