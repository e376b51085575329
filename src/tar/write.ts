/**
 * A deterministic tar writer producing the bytes Go's `archive/tar` writes for headers with
 * `Format: tar.FormatPAX` (docs/linuxkit-behaviour.md#tar-encoding): entries without PAX records and with
 * ustar-representable fields as plain ustar (long names split into prefix/name), others preceded by an `x` header named
 * `<dir>/PaxHeaders.0/<base>` whose records are sorted by key; two zero blocks at the end, no record padding.
 */
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { MobyError } from '../util/errors.ts';
import type { EntryStream, EntryType, TarHeader } from './entry.ts';
import { BLOCK, F, fitsOctal, writeBytes, writeChecksum, writeOctal } from './fields.ts';
import { formatPaxRecord, HEADER_KEYS } from './pax.ts';

/** The ustar type flag of each entry type (the table of contents of a layer records them too: store/layer-toc.ts). */
export const FLAGS: Readonly<Record<EntryType, string>> = {
  file: '0',
  link: '1',
  symlink: '2',
  'character-device': '3',
  'block-device': '4',
  directory: '5',
  fifo: '6',
};

const NAME_SIZE = 100;
const PREFIX_SIZE = 155;

function isAscii(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(s);
}

/** Go's toASCII: drops non-ASCII characters and NULs (used for the ustar fields of PAX entries). */
function toAscii(s: string): string {
  return isAscii(s) && !s.includes('\0') ? s : [...s].filter((c) => c.charCodeAt(0) < 0x80 && c !== '\0').join('');
}

/** Go's splitUSTARPath: `[prefix, name]` when a long ASCII name can be split at a `/`. */
export function splitUstarPath(name: string): [string, string] | undefined {
  let length = name.length;
  if (length <= NAME_SIZE || !isAscii(name)) return undefined;
  if (length > PREFIX_SIZE + 1) length = PREFIX_SIZE + 1;
  else if (name[length - 1] === '/') length--;
  const i = name.lastIndexOf('/', length - 1);
  const nlen = name.length - i - 1;
  if (i <= 0 || nlen > NAME_SIZE || nlen === 0 || i > PREFIX_SIZE) return undefined;
  return [name.slice(0, i), name.slice(i + 1)];
}

/** Records Go derives from the header when a field does not fit ustar (allowedFormats). */
function derivedRecords(h: TarHeader): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  const str = (v: string, size: number, key: string): void => {
    if (!isAscii(v) || Buffer.byteLength(v) > size) m.set(key, Buffer.from(v, 'utf8'));
  };
  const num = (v: number, width: number, key: string): void => {
    if (!fitsOctal(v, width)) m.set(key, Buffer.from(String(v), 'latin1'));
  };
  str(h.name, NAME_SIZE, 'path');
  str(h.linkname ?? '', NAME_SIZE, 'linkpath');
  str(h.uname ?? '', 32, 'uname');
  str(h.gname ?? '', 32, 'gname');
  num(h.uid, 8, 'uid');
  num(h.gid, 8, 'gid');
  num(h.size, 12, 'size');
  num(h.mtime, 12, 'mtime');
  return m;
}

function checkHeader(h: TarHeader): void {
  const bad = (detail: string): MobyError =>
    new MobyError(`Cannot write tar entry "${h.name}": ${detail}`, { code: 'BUILD' });
  if (!fitsOctal(h.mode, 8)) throw bad(`mode ${h.mode} is out of range`);
  if (!fitsOctal(h.devmajor ?? 0, 8) || !fitsOctal(h.devminor ?? 0, 8)) throw bad('device number out of range');
  for (const [k] of h.pax ?? []) if (k === '' || k.includes('=')) throw bad(`invalid PAX key "${k}"`);
  if (h.type !== 'file' && h.size !== 0) throw bad(`a ${h.type} cannot have a body`);
}

/** The ustar block shared by both forms (Go's templateV7Plus + SetFormat). */
function mainBlock(h: TarHeader, name: string, prefix: string, ascii: (s: string) => string): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(FLAGS[h.type], 156, 'latin1');
  putString(b, 'name', ascii(name));
  putString(b, 'linkname', ascii(h.linkname ?? ''));
  writeOctal(b, 'mode', h.mode);
  writeOctal(b, 'uid', h.uid);
  writeOctal(b, 'gid', h.gid);
  writeOctal(b, 'size', h.size);
  writeOctal(b, 'mtime', h.mtime);
  putString(b, 'uname', ascii(h.uname ?? ''));
  putString(b, 'gname', ascii(h.gname ?? ''));
  writeOctal(b, 'devmajor', h.devmajor ?? 0);
  writeOctal(b, 'devminor', h.devminor ?? 0);
  putString(b, 'prefix', prefix);
  b.write('ustar\x0000', 257, 'latin1');
  writeChecksum(b);
  return b;
}

/** Go's formatString: copy, NUL-terminate when shorter; a truncated name never ends in `/`. */
function putString(b: Buffer, f: keyof typeof F, s: string): void {
  const bytes = Buffer.from(s, 'utf8');
  writeBytes(b, f, bytes);
  const [off, len] = F[f];
  if (bytes.length > len && b[off + len - 1] === 0x2f) {
    let n = len;
    while (n > 0 && b[off + n - 1] === 0x2f) n--;
    b[off + n] = 0;
  }
}

/** `<dir>/PaxHeaders.0/<base>` as Go's path.Join builds it, truncated to 100 bytes, no trailing `/`. */
export function paxHeaderName(name: string): string {
  const slash = name.lastIndexOf('/');
  const dir = name.slice(0, slash + 1);
  const base = name.slice(slash + 1);
  const joined = [...dir.split('/'), 'PaxHeaders.0', base].filter((p) => p !== '').join('/');
  return Buffer.from(toAscii(joined), 'utf8').subarray(0, NAME_SIZE).toString('latin1').replace(/\/+$/, '');
}

function paxBlocks(h: TarHeader, records: Map<string, Buffer>): Buffer {
  const keys = [...records.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const data = Buffer.concat(keys.map((k) => formatPaxRecord(k, records.get(k) ?? Buffer.alloc(0))));
  // Go's writeRawFile: only name, mode, uid, gid, size, mtime (all zero but size) and the magic are set.
  const block = Buffer.alloc(BLOCK);
  putString(block, 'name', paxHeaderName(h.name));
  for (const f of ['mode', 'uid', 'gid', 'mtime'] as const) writeOctal(block, f, 0);
  writeOctal(block, 'size', data.length);
  block.write('x', 156, 'latin1');
  block.write('ustar\x0000', 257, 'latin1');
  writeChecksum(block);
  return Buffer.concat([block, data, Buffer.alloc(padding(data.length))]);
}

export function padding(n: number): number {
  return (BLOCK - (n % BLOCK)) % BLOCK;
}

/**
 * The header bytes for one entry: optional PAX `x` header + its records, then the ustar block. Pure; throws
 * a MobyError (code BUILD) for values no tar format can hold.
 */
export function encodeHeader(header: TarHeader): Buffer {
  // The root itself (clean name '') is written as Go writes filepath.Clean("./"): ".".
  const h = header.name === '' ? { ...header, name: '.' } : header;
  checkHeader(h);
  const records = derivedRecords(h);
  const userRecords = (h.pax ?? []).filter(([k]) => !HEADER_KEYS.has(k) && !k.startsWith('GNU.sparse'));
  const split = splitUstarPath(h.name);
  const ustarOnlyName = records.size === 1 && records.has('path') && split !== undefined;
  if (userRecords.length === 0 && (records.size === 0 || ustarOnlyName)) {
    const [prefix, name] = split ?? ['', h.name];
    return mainBlock(h, name, prefix, (s) => s);
  }
  for (const [k, v] of userRecords) if (!records.has(k)) records.set(k, v);
  return Buffer.concat([paxBlocks(h, records), mainBlock(h, h.name, '', toAscii)]);
}

/** The two zero blocks that end an archive. */
export const END_OF_ARCHIVE: Buffer = Buffer.alloc(2 * BLOCK);

/**
 * Yields the archive's bytes for `entries`: header, body (checked to be exactly `size` bytes), padding, and
 * finally the end-of-archive blocks. Drains every body it is given.
 */
export async function* tarBytes(entries: EntryStream): AsyncGenerator<Buffer> {
  for await (const { header, body } of entries) {
    yield encodeHeader(header);
    let n = 0;
    if (body !== undefined) {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        n += chunk.length;
        if (n > header.size) break;
        yield chunk;
      }
    }
    if (n !== header.size) {
      throw new MobyError(
        `Cannot write tar entry "${header.name}": body has ${n > header.size ? 'more' : 'fewer'} bytes than its size ${header.size}`,
        { code: 'BUILD' },
      );
    }
    if (header.size > 0) yield Buffer.alloc(padding(header.size));
  }
  yield END_OF_ARCHIVE;
}

/**
 * Writes `entries` as a tar to `out` and ends it; resolves when `out` has finished. Errors from the entry
 * stream, a body or `out` reject the promise and tear down the pipeline (`out` is destroyed).
 */
export async function writeTar(entries: EntryStream, out: Writable): Promise<void> {
  await pipeline(Readable.from(tarBytes(entries), { objectMode: false }), out);
}
