/**
 * The intermediate form of the whole OS (docs/architecture.md#entry-stream): a stream of tar entries. Producers yield
 * entries in order; a consumer must drain or discard each entry's body before asking for the next one.
 */
import type { Readable } from 'node:stream';

export type EntryType = 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';

export interface TarHeader {
  /**
   * Clean relative path: no leading `/` or `./`, no trailing `/`, no `..` components; `''` is the root (written
   * as `.`). Readers always produce clean names. Exception for producers: a directory name may end in one `/`
   * to reproduce LinuxKit's volume entries (`containers/volumes/<n>/tmp/`) byte-exact; writers keep it.
   */
  name: string;
  type: EntryType;
  /** Permission bits incl. setuid/setgid/sticky (& 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  uname?: string;
  gname?: string;
  /** Modification time, seconds since the epoch (integer). */
  mtime: number;
  /** Body size in bytes (0 for everything but files). */
  size: number;
  /** Symlink target, or the path (same rules as `name`) a hardlink points to. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /**
   * PAX records to keep, as raw bytes, in insertion order (e.g. `SCHILY.xattr.security.capability`,
   * `LINUXKIT.source`). Records that duplicate header fields (path, size, mtime, …) are never stored here.
   */
  pax?: Array<[key: string, value: Buffer]>;
}

export interface TarEntry {
  header: TarHeader;
  /** File content (exactly `header.size` bytes); absent for non-files. */
  body?: Readable;
  /**
   * Where the entry sits in the uncompressed archive it was read from (tar/read.ts): its first block (a PAX
   * or GNU metadata block when it has one) and its data. Absent on entries not read from an archive.
   */
  offset?: { header: number; data: number };
}

/** An ordered stream of entries. */
export type EntryStream = AsyncIterable<TarEntry>;
