/**
 * Per-image filtering (docs/linuxkit-behaviour.md#image-filter, `build/image.go: ImageTar`): excluded paths dropped,
 * `etc/hosts` and `etc/resolv.conf` replaced, names cleaned and prefixed (hardlink targets too), provenance PAX records
 * added, and the "touch" entries appended when the image lacks them.
 *
 * Deliberate differences from LinuxKit: touch entries are appended only when the image does not already have
 * the path (LinuxKit's trailing-`/` quirk appends the directories every time, duplicating entries), and an
 * entry reached through a symlink of the same prefixed image (`lower/x -> /etc`, then `lower/x/passwd`) is
 * refused (UNSAFE_CONTENT): unpacking it would write outside the container's directory.
 */
import type { ImageSource } from '../image/source.ts';
import type { EntryStream, TarEntry, TarHeader } from '../tar/entry.ts';
import { MobyError } from '../util/errors.ts';
import { EXCLUDED, HOSTS_TEXT, RESOLV_LINK, RESOLV_TEXT } from './constants.ts';
import { cleanName, prefixed } from './safe-name.ts';
import { dirEntry, discardBody, fileEntry, parentsOf, symlinkEntry, withProvenance, type Provenance } from './synth.ts';

export interface ImageFilterOptions extends Provenance {
  /** Directory the image is unpacked into (`` for the root). */
  prefix: string;
  /** Init images and volumes get a resolv.conf symlink; containers a text file. */
  resolv: 'text' | 'symlink';
  /** mtime of synthesized and replaced entries. */
  mtime: number;
}

const TOUCH = ['dev', 'dev/pts', 'dev/shm', 'etc', 'etc/hosts', 'etc/mtab', 'etc/resolv.conf', 'proc', 'sys'] as const;

function touchEntry(name: (typeof TOUCH)[number], o: ImageFilterOptions): TarEntry {
  const path = prefixed(o.prefix, name);
  const s = { ...o, mtime: o.mtime };
  if (name === 'etc/hosts') return fileEntry(path, HOSTS_TEXT, s);
  if (name === 'etc/mtab') return symlinkEntry(path, '/proc/mounts', { ...s, mode: 0o755 });
  if (name === 'etc/resolv.conf') return resolvEntry(path, undefined, o);
  return dirEntry(path, s);
}

function resolvEntry(path: string, original: TarHeader | undefined, o: ImageFilterOptions): TarEntry {
  if (o.resolv === 'symlink') return symlinkEntry(path, RESOLV_LINK, { ...o, mode: original?.mode ?? 0o644 });
  return replaced(path, RESOLV_TEXT, original, o);
}

/**
 * Replaced content keeps the original header fields except the mtime and size
 * (docs/linuxkit-behaviour.md#image-filter); when the original is not a regular file (a symlink's mode 0777 would make
 * a world-writable file) a fresh 0644 root file is used.
 */
function replaced(path: string, text: string, original: TarHeader | undefined, o: ImageFilterOptions): TarEntry {
  const fresh = fileEntry(path, text, o);
  if (original?.type !== 'file') return fresh;
  const header = withProvenance(
    { ...original, name: path, type: 'file', size: fresh.header.size, mtime: o.mtime, linkname: undefined },
    o,
  );
  return { header, body: fresh.body };
}

function assertNotThroughSymlink(clean: string, symlinks: Set<string>, o: ImageFilterOptions): void {
  const bad = parentsOf(clean).find((p) => symlinks.has(p));
  if (bad === undefined) return;
  throw new MobyError(
    `Cannot unpack "${o.source}" into "${o.prefix}": entry "${clean}" is reached through the symlink "${bad}"`,
    {
      code: 'UNSAFE_CONTENT',
      hint: 'the image would write outside its container directory; rebuild the image without that entry',
    },
  );
}

function transform(entry: TarEntry, clean: string, o: ImageFilterOptions): TarEntry {
  const path = prefixed(o.prefix, clean);
  if (clean === 'etc/hosts') return replaced(path, HOSTS_TEXT, entry.header, o);
  if (clean === 'etc/resolv.conf') return resolvEntry(path, entry.header, o);
  const header: TarHeader = { ...entry.header, name: path };
  if (clean === 'etc/mtab') header.mtime = o.mtime;
  if (header.type === 'link' && header.linkname !== undefined)
    header.linkname = prefixed(o.prefix, cleanName(header.linkname));
  return { header: withProvenance(header, o), body: entry.body };
}

/** Filters one flattened image; drains the bodies it drops. */
export async function* filterImage(entries: EntryStream, o: ImageFilterOptions): EntryStream {
  const found = new Set<string>();
  const symlinks = new Set<string>();
  for await (const entry of entries) {
    const clean = cleanName(entry.header.name);
    if (clean === '' || EXCLUDED.has(clean) || found.has(clean)) {
      await discardBody(entry);
      continue;
    }
    if (o.prefix !== '') assertNotThroughSymlink(clean, symlinks, o);
    const out = transform(entry, clean, o);
    if (clean === 'etc/hosts' || clean === 'etc/resolv.conf') await discardBody(entry);
    found.add(clean);
    if (out.header.type === 'symlink') symlinks.add(clean);
    yield out;
  }
  for (const name of TOUCH) if (!found.has(name)) yield touchEntry(name, o);
}

/**
 * The directory headers of a filtered image, for `PathTracker.hintDirs`. Reads the image once more (headers
 * only, bodies drained); needed only for multi-layer images, where a file can come before its directory.
 */
export async function directoryHeaders(entries: EntryStream): Promise<TarHeader[]> {
  const dirs: TarHeader[] = [];
  for await (const e of entries) {
    if (e.header.type === 'directory') dirs.push(e.header);
    await discardBody(e);
  }
  return dirs;
}

/**
 * One image, flattened and filtered. For a multi-layer image the directory headers are collected first and
 * handed to `hint` (see `PathTracker.hintDirs`), at the cost of reading the image twice.
 */
export async function* imageEntries(
  source: ImageSource,
  flatten: (s: ImageSource) => EntryStream,
  o: ImageFilterOptions & { hint(h: TarHeader[]): void },
): EntryStream {
  if (source.manifest.layers.length > 1) o.hint(await directoryHeaders(filterImage(flatten(source), o)));
  yield* filterImage(flatten(source), o);
}
