/**
 * A streaming tar reader (POSIX ustar, pax incl. global headers, GNU long names/links, GNU base-256 numbers)
 * that keeps PAX records as raw bytes. Implements the reading side of docs/linuxkit-behaviour.md#flatten and
 * #tar-encoding.
 */
import { Readable } from 'node:stream';
import { MobyError } from '../util/errors.ts';
import { ByteReader } from './byte-reader.ts';
import type { EntryStream, EntryType, TarEntry, TarHeader } from './entry.ts';
import { BLOCK, checksums, isZeroBlock, readBytes, readNumber, readString } from './fields.ts';
import { HEADER_KEYS, libarchiveXattrToSchily, parsePaxRecords, type PaxRecord } from './pax.ts';
import { cleanName } from './safe-path.ts';

export interface ReadTarOptions {
  /** Names the archive in errors, e.g. `layer sha256:… of docker.io/library/alpine:3.20`. */
  subject?: string;
}

const TYPES: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
};

/** Metadata entries (pax `x`/`g`, GNU `L`/`K`) that modify the next real header. */
interface Pending {
  local: PaxRecord[];
  longName?: Buffer;
  longLink?: Buffer;
}

const MAX_META = 1 << 20;

function fail(subject: string, detail: string, at: number): MobyError {
  return new MobyError(`Cannot read tar "${subject}": ${detail} (at byte ${at})`, { code: 'UNSAFE_CONTENT' });
}

function paddedSize(n: number): number {
  return Math.ceil(n / BLOCK) * BLOCK;
}

/**
 * Parses a tar stream into entries, in archive order. Each file entry's `body` streams exactly `header.size`
 * bytes straight from `source` (nothing is buffered but one source chunk). The consumer should read or
 * destroy each body before asking for the next entry; a body not fully read is skipped (drained) when the
 * next entry is requested, and is destroyed at that point. After the end-of-archive blocks the rest of the
 * source is read to its end (so a digest-verifying source gets to check), and errors from the source
 * propagate from the iterator. Names are cleaned (`cleanName`); `..` escapes throw UNSAFE_CONTENT.
 * Breaking out of the loop early closes the source.
 */
export function readTar(source: Readable | AsyncIterable<Uint8Array>, opts: ReadTarOptions = {}): EntryStream {
  return {
    [Symbol.asyncIterator]: () => entries(new ByteReader(source), opts.subject ?? 'tar')[Symbol.asyncIterator](),
  };
}

async function* entries(reader: ByteReader, subject: string): AsyncGenerator<TarEntry> {
  const global: PaxRecord[] = [];
  let pending: Pending = { local: [] };
  let done = false;
  let start = reader.position; // where the entry's first block (a metadata entry, or its header) begins
  try {
    while (true) {
      const at = reader.position;
      const block = await reader.exact(BLOCK);
      if (block.length === 0) break; // no end-of-archive marker: tolerated like Go/GNU do
      if (block.length < BLOCK) throw fail(subject, 'truncated header', at);
      if (isZeroBlock(block)) break;
      verifyChecksum(block, subject, at);
      const flag = String.fromCharCode(block[156] ?? 0);
      const size = readNumber(block, 'size');
      if (size === undefined || size < 0) throw fail(subject, 'bad size field', at);
      if (await readMeta(reader, { flag, size, global, pending, subject, at })) continue;
      const header = buildHeader(block, { flag, size, global, pending, subject, at });
      pending = { local: [] };
      yield* emit(reader, header, subject, { header: start, data: at + BLOCK });
      start = reader.position;
    }
    await reader.drainToEnd();
    done = true;
  } finally {
    if (!done) await reader.close();
  }
}

interface Ctx {
  flag: string;
  size: number;
  global: PaxRecord[];
  pending: Pending;
  subject: string;
  at: number;
}

function verifyChecksum(block: Buffer, subject: string, at: number): void {
  const stored = readNumber(block, 'chksum');
  const { unsigned, signed } = checksums(block);
  if (stored !== unsigned && stored !== signed) throw fail(subject, 'header checksum mismatch', at);
}

/** Consumes a metadata entry into `pending`/`global`; false when the block is a real entry. */
async function readMeta(reader: ByteReader, c: Ctx): Promise<boolean> {
  if (!['x', 'g', 'L', 'K', 'X'].includes(c.flag)) return false;
  if (c.size > MAX_META) throw fail(c.subject, `metadata entry of ${c.size} bytes is too large`, c.at);
  const data = await reader.exact(c.size);
  if (data.length < c.size) throw fail(c.subject, 'truncated metadata entry', c.at);
  await reader.skip(paddedSize(c.size) - c.size);
  if (c.flag === 'L') c.pending.longName = trimNul(data);
  else if (c.flag === 'K') c.pending.longLink = trimNul(data);
  else if (c.flag === 'g') c.global.push(...parsePaxRecords(data));
  else c.pending.local.push(...parsePaxRecords(data));
  return true;
}

function trimNul(b: Buffer): Buffer {
  const nul = b.indexOf(0);
  return nul < 0 ? b : b.subarray(0, nul);
}

function buildHeader(block: Buffer, c: Ctx): TarHeader {
  const type = TYPES[c.flag];
  if (type === undefined) throw fail(c.subject, `unsupported entry type "${printable(c.flag)}"`, c.at);
  const records = mergeRecords(c.global, c.pending.local);
  const rawName = records.get('path') ?? c.pending.longName ?? ustarName(block);
  // Old (V7) archives mark directories as type NUL with a trailing slash, as Go's reader accepts.
  const v7Dir = c.flag === '\0' && rawName[rawName.length - 1] === 0x2f;
  const h: TarHeader = {
    name: cleanName(rawName.toString('utf8'), c.subject),
    type: v7Dir ? 'directory' : type,
    mode: (readNumber(block, 'mode') ?? 0) & 0o7777,
    uid: numberRecord(records, 'uid') ?? readNumber(block, 'uid') ?? 0,
    gid: numberRecord(records, 'gid') ?? readNumber(block, 'gid') ?? 0,
    mtime: Math.floor(numberRecord(records, 'mtime') ?? readNumber(block, 'mtime') ?? 0),
    size: type === 'file' && !v7Dir ? (numberRecord(records, 'size') ?? c.size) : 0,
  };
  if (records.has('GNU.sparse.map') || records.has('GNU.sparse.major')) {
    throw fail(c.subject, `sparse file "${h.name}" is not supported`, c.at);
  }
  setOptional(h, block, records, c);
  return h;
}

function printable(flag: string): string {
  return /^[\x20-\x7e]$/.test(flag) ? flag : `\\x${flag.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

function ustarName(block: Buffer): Buffer {
  const name = readBytes(block, 'name');
  const isPosix = block.toString('latin1', 257, 263) === 'ustar\0';
  const prefix = isPosix ? readBytes(block, 'prefix') : Buffer.alloc(0);
  return prefix.length > 0 ? Buffer.concat([prefix, Buffer.from('/'), name]) : name;
}

function setOptional(h: TarHeader, block: Buffer, records: Map<string, Buffer>, c: Ctx): void {
  const uname = records.get('uname')?.toString('utf8') ?? readString(block, 'uname');
  const gname = records.get('gname')?.toString('utf8') ?? readString(block, 'gname');
  if (uname !== '') h.uname = uname;
  if (gname !== '') h.gname = gname;
  if (h.type === 'link' || h.type === 'symlink') {
    const link = (records.get('linkpath') ?? c.pending.longLink ?? readBytes(block, 'linkname')).toString('utf8');
    h.linkname = h.type === 'link' ? cleanName(link, c.subject) : link;
  }
  if (h.type === 'character-device' || h.type === 'block-device') {
    h.devmajor = readNumber(block, 'devmajor') ?? 0;
    h.devminor = readNumber(block, 'devminor') ?? 0;
  }
  const pax = keptRecords(records);
  if (pax.length > 0) h.pax = pax;
}

/** Global records first, local ones override by key; insertion order of first appearance is kept. */
function mergeRecords(global: PaxRecord[], local: PaxRecord[]): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  for (const [k, v] of [...global, ...local]) m.set(k, v);
  return m;
}

function numberRecord(records: Map<string, Buffer>, key: string): number | undefined {
  const v = records.get(key);
  if (v === undefined) return undefined;
  const n = Number(v.toString('latin1'));
  return Number.isFinite(n) ? n : undefined;
}

/** Records that are not header restatements; LIBARCHIVE xattrs become SCHILY ones unless already present. */
function keptRecords(records: Map<string, Buffer>): PaxRecord[] {
  const out = new Map<string, Buffer>();
  for (const [k, v] of records) {
    if (HEADER_KEYS.has(k) || k.startsWith('GNU.sparse.')) continue;
    const schily = libarchiveXattrToSchily(k, v);
    if (schily === undefined) out.set(k, v);
    else if (!records.has(schily[0])) out.set(schily[0], schily[1]);
  }
  return [...out];
}

async function* emit(
  reader: ByteReader,
  header: TarHeader,
  subject: string,
  offset: { header: number; data: number },
): AsyncGenerator<TarEntry> {
  const dataSize = header.type === 'file' ? header.size : 0;
  if (dataSize === 0) {
    yield { header, offset };
    return;
  }
  const body = new BodyStream(reader, dataSize, `${subject}: ${header.name}`);
  yield { header, body, offset };
  await body.detach();
  await reader.skip(paddedSize(dataSize) - dataSize);
}

/** A file body reading straight from the archive; `detach` skips what the consumer left unread. */
class BodyStream extends Readable {
  private remaining: number;
  private busy: Promise<void> | undefined;
  private detached = false;
  private readonly reader: ByteReader;
  private readonly what: string;

  constructor(reader: ByteReader, size: number, what: string) {
    super({ highWaterMark: 1 << 16 });
    this.reader = reader;
    this.remaining = size;
    this.what = what;
  }

  override _read(size: number): void {
    if (this.busy !== undefined || this.detached) return;
    if (this.remaining === 0) {
      this.push(null);
      return;
    }
    this.busy = this.pull(size);
  }

  /**
   * Reads one chunk and pushes it. `busy` is cleared BEFORE push: push may call `_read` at once (a consumer
   * calling read() from a 'data' handler, or an async iterator resuming first), and a `_read` that found
   * `busy` still set would be lost — Node does not call it again, so the body would stall forever.
   */
  private async pull(size: number): Promise<void> {
    try {
      const c = await this.reader.chunk(Math.min(this.remaining, Math.max(size, 1 << 16)));
      if (c === undefined)
        throw new MobyError(`Cannot read tar "${this.what}": archive ends inside the file body`, {
          code: 'UNSAFE_CONTENT',
        });
      this.remaining -= c.length;
      this.busy = undefined;
      this.push(c);
    } catch (err) {
      this.busy = undefined;
      this.destroy(err as Error);
    }
  }

  async detach(): Promise<void> {
    this.detached = true;
    await this.busy;
    const want = this.remaining;
    this.remaining = 0;
    if (want > 0) {
      const skipped = await this.reader.skip(want);
      if (skipped < want)
        throw new MobyError(`Cannot read tar "${this.what}": archive ends inside the file body`, {
          code: 'UNSAFE_CONTENT',
        });
      if (!this.destroyed) this.destroy();
    }
  }
}
