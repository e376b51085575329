/**
 * Init images at `/` (docs/linuxkit-behaviour.md#init, #apk-db) and the consolidated apk database.
 *
 * With several init images a pre-scan records which image provides each path last, so that the stream
 * carries, per path, the entry that wins when LinuxKit's tar is unpacked (see tracker.ts); the pre-scan also
 * collects every `lib/apk/db/installed`, and when there is more than one, the concatenation (each followed by
 * two newlines, mtime 0 as LinuxKit writes it) replaces them all. The pre-scan works from each image's table of
 * contents (its paths, directory headers and apk database), read from its layers once and then kept in the
 * cache (store/image-tocs.ts).
 */
import type { ImageSource } from '../image/source.ts';
import type { EntryStream, TarHeader } from '../tar/entry.ts';
import type { Reporter } from '../util/reporter.ts';
import type { RootfsDeps } from './deps.ts';
import { filterImage, imageEntries, type ImageFilterOptions } from './image-entries.ts';
import { fileEntry, readBody, discardBody } from './synth.ts';
import type { PathTracker } from './tracker.ts';
import { cachedToc, linkTocOf, noteLinks, plannedFlatten, putToc, type LinkToc, type TocStore } from './toc.ts';

export const APK_DB = 'lib/apk/db/installed';
const APK_OWNER = 'init-apk';

export interface InitSectionOptions {
  sources: ImageSource[];
  deps: RootfsDeps;
  tracker: PathTracker;
  mtime: number;
  /** Keeps each init image's table of contents between builds (store/image-tocs.ts): no re-read. */
  tocs?: TocStore;
  /** Told (debug) whether each table of contents was planned from its layers' or taken from the cache. */
  reporter: Reporter;
}

/** A directory header as JSON (pax values in base64). */
type DirHeader = Omit<TarHeader, 'pax'> & { pax?: Array<[string, string]> };

/** What the pre-scan needs of one init image, as JSON: its paths in order, its directory headers, its apk database. */
interface InitToc {
  paths: string[];
  dirs: DirHeader[];
  dbs: string[];
}

/** Bump when what this TOC records changes. */
const TOC_VERSION = 1;

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
 * header; returns the apk databases in image order. Made from each image's table of contents, which is read
 * from its layers only the first time.
 */
export async function claimInitPaths(o: InitSectionOptions): Promise<Buffer[]> {
  if (o.sources.length < 2) return [];
  const tocs = await Promise.all(o.sources.map((_, i) => initToc(o, i)));
  const claims = new Map<string, string>();
  const dirs = new Map<string, DirHeader>();
  const dbs = tocs.flatMap((t) => t.dbs);
  tocs.forEach((toc, i) => {
    for (const p of toc.paths) claims.set(p, `init[${i}]`);
    for (const d of toc.dirs) if (!dirs.has(d.name)) dirs.set(d.name, d);
  });
  if (dbs.length > 1) claims.set(APK_DB, APK_OWNER);
  for (const [path, owner] of claims) o.tracker.claim(path, owner);
  o.tracker.hintDirs(
    [...dirs.values()].map(({ pax, ...h }) => ({
      ...h,
      ...(pax === undefined ? {} : { pax: pax.map(([k, v]): [string, Buffer] => [k, Buffer.from(v, 'base64')]) }),
    })),
  );
  return dbs.map((d) => Buffer.from(d, 'base64'));
}

/** Image `i`'s table of contents: stored, or read from its layers and stored. */
function initToc(o: InitSectionOptions, i: number): Promise<InitToc> {
  const src = o.sources[i] as ImageSource;
  const what = { toc: 'init', v: TOC_VERSION, digest: src.manifestDigest, options: options(o, i) };
  return cachedToc(
    o.tocs,
    what,
    () => readToc(o, i),
    (from, toc) =>
      o.reporter.emit({
        type: 'debug',
        message: `init[${i}] table of contents: ${from === 'cache' ? 'from the cache' : `planned from the layers' tables of contents, ${toc.paths.length} paths`} (${src.ref.expanded})`,
      }),
  );
}

/**
 * Image `i`'s table of contents, planned from its layers' tables of contents (store/layer-toc.ts) by the same
 * flattening rules the data pass uses: no layer data is read, except to make a layer's TOC that is missing.
 */
async function readToc(o: InitSectionOptions, i: number): Promise<InitToc> {
  const paths: string[] = [];
  const dirs = new Map<string, DirHeader>();
  const dbs: string[] = [];
  const src = o.sources[i] as ImageSource;
  // The same pass notes the image's symlinks for the kernel's placement (kernel.ts `initSymlinks`).
  const links: LinkToc = [];
  const planned = plannedFlatten(o.deps, src, o.tocs, o.reporter);
  const noted = noteLinks(planned, links, async () => {
    await putToc(o.tocs, linkTocOf(src.manifestDigest), links);
  });
  for await (const entry of filterImage(noted, options(o, i))) {
    paths.push(entry.header.name);
    const { pax, ...h } = entry.header;
    if (h.type === 'directory' && !dirs.has(h.name))
      dirs.set(h.name, {
        ...h,
        ...(pax === undefined ? {} : { pax: pax.map(([k, v]): [string, string] => [k, v.toString('base64')]) }),
      });
    if (h.name === APK_DB && h.type === 'file') dbs.push((await readBody(entry)).toString('base64'));
    else await discardBody(entry);
  }
  return { paths, dirs: [...dirs.values()], dbs };
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
