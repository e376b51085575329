/**
 * Init images at `/` (docs/linuxkit-behaviour.md#init, #apk-db) and the consolidated apk database.
 *
 * With several init images a header-only pre-scan records which image provides each path last, so that the
 * stream carries, per path, the entry that wins when LinuxKit's tar is unpacked (see tracker.ts); the
 * pre-scan also collects every `lib/apk/db/installed`, and when there is more than one, the concatenation
 * (each followed by two newlines, mtime 0 as LinuxKit writes it) replaces them all.
 */
import { createHash } from 'node:crypto';
import type { ImageSource } from '../image/source.ts';
import type { EntryStream, TarHeader } from '../tar/entry.ts';
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
  /** Keeps the pre-scan's result between builds (keyed by the init images' digests): no re-read. */
  memo?: PlanMemo;
}

/** A small key → JSON store kept between builds (store/sections.ts `openPlanMemo`); failures mean "absent". */
export interface PlanMemo {
  get(key: string): Promise<unknown>;
  put(key: string, value: unknown): Promise<void>;
}

/** The pre-scan's result, as JSON. */
interface Prescan {
  claims: Array<[string, string]>;
  dirs: Array<Omit<TarHeader, 'pax'> & { pax?: Array<[string, string]> }>;
  dbs: string[];
}

/** Bump when what the pre-scan records changes. */
const PRESCAN_VERSION = 1;

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
  if (o.sources.length < 2) return [];
  const key = createHash('sha256')
    .update(JSON.stringify({ v: PRESCAN_VERSION, digests: o.sources.map((s) => s.manifestDigest), mtime: o.mtime }))
    .digest('hex');
  const saved = (await o.memo?.get(key).catch(() => undefined)) as Prescan | undefined;
  const scan = saved ?? (await prescan(o));
  if (saved === undefined) await o.memo?.put(key, scan).catch(() => {});
  for (const [path, owner] of scan.claims) o.tracker.claim(path, owner);
  o.tracker.hintDirs(
    scan.dirs.map(({ pax, ...h }) => ({
      ...h,
      ...(pax === undefined ? {} : { pax: pax.map(([k, v]): [string, Buffer] => [k, Buffer.from(v, 'base64')]) }),
    })),
  );
  return scan.dbs.map((d) => Buffer.from(d, 'base64'));
}

async function prescan(o: InitSectionOptions): Promise<Prescan> {
  const claims = new Map<string, string>();
  const dirs = new Map<string, Prescan['dirs'][number]>();
  const dbs: string[] = [];
  for (let i = 0; i < o.sources.length; i++) {
    for await (const entry of filterImage(o.deps.flatten(o.sources[i] as ImageSource), options(o, i))) {
      claims.set(entry.header.name, `init[${i}]`);
      const { pax, ...h } = entry.header;
      if (h.type === 'directory' && !dirs.has(h.name))
        dirs.set(h.name, {
          ...h,
          ...(pax === undefined ? {} : { pax: pax.map(([k, v]): [string, string] => [k, v.toString('base64')]) }),
        });
      if (h.name === APK_DB && h.type === 'file') dbs.push((await readBody(entry)).toString('base64'));
      else await discardBody(entry);
    }
  }
  if (dbs.length > 1) claims.set(APK_DB, APK_OWNER);
  return { claims: [...claims], dirs: [...dirs.values()], dbs };
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
