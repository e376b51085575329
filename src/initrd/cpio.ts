/**
 * The newc ("070701") cpio writer for initramfs images (kernel Documentation/driver-api/early-userspace/
 * buffer-format.rst; docs/linuxkit-behaviour.md#initrd). Compatible with LinuxKit's output (vendored surma/gocpio)
 * except:
 *
 * - hardlinks are REAL newc hardlinks (LinuxKit writes relative symlinks): every member of a link group has
 *   the target's inode number and the group's nlink count; the data is on the FIRST member (the tar order
 *   puts the target first and the stream is not buffered), later members have size 0. The kernel accepts this:
 *   `maybe_link()` links later members to the first name and opens it without O_TRUNC; GNU cpio defers
 *   size-0 members and links them at the end. Because the group size is only known at the end, nlink fields
 *   are patched afterwards (`nlinkPatches()`): in the compressed member of a segmented initrd (segments.ts),
 *   or in the in-memory cpio of a loader initrd (initrd.ts).
 * - devmajor:devminor are 3:1 on every entry, like LinuxKit (the kernel uses them only to key hardlinks).
 * - inode numbers start at 721 and increase by one per entry (links and the trailer included), like LinuxKit.
 *   A segment of a segmented initrd (segments.ts) starts at its own base and has no trailer: the segments'
 *   concatenation is one archive, so inode numbers must not repeat across segments (the kernel keys hardlinks
 *   by inode until the trailer), and a hardlink cannot point into another segment.
 * - the root entry (clean name `''`) is written as `.` (LinuxKit writes Go's `filepath.Clean` result `.`).
 * - xattrs cannot be stored in newc: they are dropped (one warning per archive).
 * - files of 4 GiB or more cannot be stored (32-bit size field): MobyError BUILD.
 */
import { MobyError } from '../util/errors.ts';
import type { Reporter } from '../util/reporter.ts';
import type { EntryStream, EntryType, TarHeader } from '../tar/entry.ts';
import { describeXattrs } from './xattrs.ts';

export const FIRST_INO = 721;
const MAGIC = '070701';
const HEADER_SIZE = 110;
/** Byte offset of the nlink field inside a header. */
export const NLINK_OFFSET = 6 + 4 * 8;
const MAX_FIELD = 0xffffffff;
/** Files named in the lost-xattrs warning. */
const LOST_SHOWN = 20;

const TYPE_BITS: Record<EntryType, number> = {
  fifo: 0o010000,
  'character-device': 0o020000,
  directory: 0o040000,
  'block-device': 0o060000,
  file: 0o100000,
  link: 0o100000,
  symlink: 0o120000,
};

export interface NewcFields {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  filesize: number;
  rdevmajor: number;
  rdevminor: number;
  name: string;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** One header + NUL-terminated name + padding to 4 bytes. Pure. */
export function encodeNewcHeader(f: NewcFields): Buffer {
  const name = Buffer.from(`${f.name}\0`, 'utf8');
  const fields = [
    f.ino,
    f.mode,
    f.uid,
    f.gid,
    f.nlink,
    f.mtime,
    f.filesize,
    3,
    1,
    f.rdevmajor,
    f.rdevminor,
    name.length,
    0,
  ];
  const text = MAGIC + fields.map(hex8).join('');
  return Buffer.concat([Buffer.from(text, 'latin1'), name, Buffer.alloc(pad4(HEADER_SIZE + name.length))]);
}

/** The `TRAILER!!!` entry (all fields zero but its inode number and namesize, as gocpio writes it). */
export function trailer(ino: number): Buffer {
  return encodeNewcHeader({
    ino,
    mode: 0,
    uid: 0,
    gid: 0,
    nlink: 1,
    mtime: 0,
    filesize: 0,
    rdevmajor: 0,
    rdevminor: 0,
    name: 'TRAILER!!!',
  });
}

function refuse(h: TarHeader, detail: string): MobyError {
  return new MobyError(`Cannot put "${h.name}" into the initrd: ${detail}`, {
    code: 'BUILD',
    hint: 'an initrd (newc cpio) holds files smaller than 4 GiB with 32-bit ids; use a disk format for this content',
  });
}

function clampTime(t: number): number {
  return Math.min(Math.max(Math.trunc(t), 0), MAX_FIELD);
}

/** Bytes `NewcEncoder.bytes` gathers small pieces into before handing them on. */
const BATCH = 64 * 1024;
const ZEROS = Buffer.alloc(4);

/** A link group: every member's header offset, for patching nlink. */
interface Group {
  ino: number;
  offsets: number[];
}

/**
 * Encodes entries as newc cpio bytes, in stream order, ending with the trailer and zero padding to 512.
 * Stateful (inode counter, hardlink groups); `nlinkPatches()` after the stream ended says which header
 * offsets need which nlink. Memory: one map entry per regular file name (names only).
 */
export interface NewcEncoderOptions {
  /** First inode number (default 721). */
  firstIno?: number;
  /** End with `TRAILER!!!` and zero padding to 512 (default); false for a segment that others follow. */
  trailer?: boolean;
  /** Inode numbers this encoder may not reach (a segment's share of the inode space). */
  inoLimit?: number;
}

export class NewcEncoder {
  private ino: number;
  private readonly withTrailer: boolean;
  private readonly inoLimit: number;
  private offset = 0;
  private readonly files = new Map<string, Group>();
  /** Files whose xattrs were dropped: how many, and the first LOST_SHOWN with what they carried (see xattrs.ts). */
  private readonly lost: LostXattrs = { count: 0, shown: [] };

  constructor(o: NewcEncoderOptions = {}) {
    this.ino = o.firstIno ?? FIRST_INO;
    this.withTrailer = o.trailer ?? true;
    this.inoLimit = o.inoLimit ?? MAX_FIELD;
  }

  /** Entries whose xattrs were dropped: their count and the first LOST_SHOWN. */
  get lostXattrs(): LostXattrs {
    return { count: this.lost.count, shown: [...this.lost.shown] };
  }

  /** Bytes produced so far. */
  get size(): number {
    return this.offset;
  }

  /**
   * The archive's bytes. Small pieces (headers, padding, small files) are handed on in batches of about
   * BATCH bytes and large body chunks as they come, so 100,000 small files are a few thousand chunks for
   * the consumer, not a few hundred thousand trips through its async iteration.
   */
  async *bytes(entries: EntryStream): AsyncGenerator<Buffer> {
    const batch: Buffer[] = [];
    let batched = 0;
    const add = (b: Buffer): void => {
      this.offset += b.length;
      batch.push(b);
      batched += b.length;
    };
    const take = (): Buffer => {
      const out = batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch, batched);
      batch.length = 0;
      batched = 0;
      return out;
    };
    for await (const { header: h, body } of entries) {
      add(this.headerFor(h));
      if (h.type === 'symlink') {
        const target = Buffer.from(h.linkname ?? '', 'utf8');
        add(target);
        add(ZEROS.subarray(0, pad4(target.length)));
      } else if (h.type === 'file' && h.size > 0) {
        let n = 0;
        for await (const piece of body ?? []) {
          const chunk = piece as Buffer;
          n += chunk.length;
          if (n > h.size) break;
          if (chunk.length < BATCH / 4) add(chunk);
          else {
            if (batched > 0) yield take();
            this.offset += chunk.length;
            yield chunk;
          }
          if (batched >= BATCH) yield take();
        }
        if (n !== h.size)
          throw refuse(h, `its body has ${n > h.size ? 'more' : 'fewer'} bytes than its size ${h.size}`);
        add(ZEROS.subarray(0, pad4(h.size)));
      }
      if (batched >= BATCH) yield take();
    }
    if (this.withTrailer) {
      add(trailer(this.ino++));
      add(Buffer.alloc((512 - (this.offset % 512)) % 512));
    }
    if (batched > 0) yield take();
  }

  private headerFor(h: TarHeader): Buffer {
    if (h.size > MAX_FIELD) throw refuse(h, `it is ${h.size} bytes; newc cannot hold files of 4 GiB or more`);
    if (h.uid > MAX_FIELD || h.gid > MAX_FIELD || h.uid < 0 || h.gid < 0)
      throw refuse(h, `uid/gid ${h.uid}/${h.gid} out of range`);
    this.noteXattrs(h);
    if (this.ino >= this.inoLimit)
      throw refuse(h, 'its section of the initrd has too many entries for its share of the inode numbers');
    const ino = this.ino++;
    const fields: NewcFields = {
      ino,
      mode: (h.mode & 0o7777) | TYPE_BITS[h.type],
      uid: h.uid,
      gid: h.gid,
      nlink: h.type === 'directory' ? 2 : 1,
      mtime: clampTime(h.mtime),
      filesize: h.type === 'symlink' ? Buffer.byteLength(h.linkname ?? '') : h.size,
      rdevmajor: h.devmajor ?? 0,
      rdevminor: h.devminor ?? 0,
      name: h.name === '' ? '.' : h.name,
    };
    if (h.type === 'file') this.files.set(h.name, { ino, offsets: [this.offset] });
    if (h.type === 'link') this.linkTo(h, fields);
    return encodeNewcHeader(fields);
  }

  private linkTo(h: TarHeader, fields: NewcFields): void {
    const group = this.files.get(h.linkname ?? '');
    if (group === undefined)
      throw refuse(
        h,
        `it is a hardlink to "${h.linkname ?? ''}", which is not an earlier file of the same section (image, bundle or files)`,
      );
    fields.ino = group.ino;
    fields.filesize = 0;
    group.offsets.push(this.offset);
    this.files.set(h.name, group);
  }

  private noteXattrs(h: TarHeader): void {
    const what = describeXattrs(h.pax);
    if (what.length === 0) return;
    if (this.lost.count++ < LOST_SHOWN) this.lost.shown.push({ name: h.name, what });
  }

  /** Header offsets whose nlink field must be rewritten (members of groups of two or more). */
  nlinkPatches(): Array<{ offset: number; nlink: number }> {
    const out: Array<{ offset: number; nlink: number }> = [];
    const done = new Set<Group>();
    for (const g of this.files.values()) {
      if (g.offsets.length < 2 || done.has(g)) continue;
      done.add(g);
      for (const offset of g.offsets) out.push({ offset: offset + NLINK_OFFSET, nlink: g.offsets.length });
    }
    return out;
  }

  /** Emits one warning when entries carried xattrs, which newc cannot hold. */
  reportLostXattrs(reporter: Reporter): void {
    reportLostXattrs(reporter, this.lost);
  }
}

/** Files whose xattrs the initrd dropped: how many, and the first LOST_SHOWN by name with what they carried. */
export interface LostXattrs {
  count: number;
  shown: Array<{ name: string; what: string[] }>;
}

/** `more` added to `into` (in stream order: `into`'s files came first). */
export function addLostXattrs(into: LostXattrs, more: LostXattrs): void {
  into.count += more.count;
  for (const l of more.shown) if (into.shown.length < LOST_SHOWN) into.shown.push(l);
}

/**
 * The one warning when entries carried xattrs, which newc cannot hold, naming the files (the first LOST_SHOWN)
 * and what they lose; capabilities as getcap prints them. Nothing when none were dropped.
 */
export function reportLostXattrs(reporter: Reporter, lost: LostXattrs): void {
  const n = lost.count;
  if (n === 0) return;
  const shown = lost.shown.map((l) => `"${l.name}" (${l.what.join('; ')})`);
  const more = n > shown.length ? `, and ${n - shown.length} more` : '';
  reporter.emit({
    type: 'warn',
    message: `The initrd cannot hold extended attributes (newc has none): dropped them from ${n} file(s): ${shown.join(', ')}${more}; in the booted system these files lack them (only the tar output keeps extended attributes)`,
  });
}

/** The 8 ASCII hex digits to write at a patch offset. */
export function nlinkField(nlink: number): Buffer {
  return Buffer.from(hex8(nlink), 'latin1');
}
