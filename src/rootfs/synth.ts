/**
 * Synthesized tar entries (directories, small files, symlinks) with root ownership, a fixed mtime and
 * LinuxKit's PAX provenance records (docs/linuxkit-behaviour.md#image-filter). Pure: no I/O.
 */
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { TarEntry, TarHeader } from '../tar/entry.ts';
import { PAX_LOCATION, PAX_SOURCE } from './constants.ts';

/** Where an entry came from: written as `LINUXKIT.source` / `LINUXKIT.location`. */
export interface Provenance {
  source: string;
  location: string;
}

export interface SynthOptions extends Provenance {
  mtime: number;
  mode?: number;
  uid?: number;
  gid?: number;
}

/** The PAX records LinuxKit adds, replacing any previous LINUXKIT.* records and keeping the others. */
export function withProvenance(header: TarHeader, p: Provenance): TarHeader {
  const kept = (header.pax ?? []).filter(([k]) => k !== PAX_SOURCE && k !== PAX_LOCATION);
  return { ...header, pax: [...kept, [PAX_SOURCE, Buffer.from(p.source)], [PAX_LOCATION, Buffer.from(p.location)]] };
}

function base(name: string, o: SynthOptions, type: TarHeader['type'], mode: number): TarHeader {
  return withProvenance(
    { name, type, mode: o.mode ?? mode, uid: o.uid ?? 0, gid: o.gid ?? 0, mtime: o.mtime, size: 0 },
    o,
  );
}

export function dirEntry(name: string, o: SynthOptions): TarEntry {
  return { header: base(name, o, 'directory', 0o755) };
}

/** A regular file whose body is `data` (a fresh stream each call). */
export function fileEntry(name: string, data: Buffer | string, o: SynthOptions): TarEntry {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  return { header: { ...base(name, o, 'file', 0o644), size: buf.length }, body: Readable.from([buf]) };
}

export function symlinkEntry(name: string, target: string, o: SynthOptions): TarEntry {
  return { header: { ...base(name, o, 'symlink', 0o777), linkname: target } };
}

/** `a/b/c` → `['a', 'a/b']`: the parent directories of a clean relative path, outermost first. */
export function parentsOf(name: string): string[] {
  const parts = name.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** Drains an entry body that is not copied (a consumer must drain or discard every body). */
export async function discardBody(entry: TarEntry): Promise<void> {
  if (entry.body === undefined) return;
  await finished(entry.body.resume());
}

/** Reads a (small) entry body fully. */
export async function readBody(entry: TarEntry): Promise<Buffer> {
  if (entry.body === undefined) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const c of entry.body) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}
