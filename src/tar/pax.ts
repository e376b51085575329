/**
 * PAX extended header records (POSIX.1-2001 pax "Extended header"), kept as raw bytes: values such as
 * `SCHILY.xattr.security.capability` are binary and must survive byte-exact.
 */
import { MobyError } from '../util/errors.ts';

/** Keys that restate header fields; a reader applies them to the header, a writer derives them. */
export const HEADER_KEYS: ReadonlySet<string> = new Set([
  'path',
  'linkpath',
  'size',
  'uid',
  'gid',
  'uname',
  'gname',
  'mtime',
  'atime',
  'ctime',
]);

export type PaxRecord = [key: string, value: Buffer];

function bad(detail: string): MobyError {
  return new MobyError(`Cannot read tar: malformed PAX header: ${detail}`, { code: 'UNSAFE_CONTENT' });
}

/** Parses `"<len> <key>=<value>\n"` records; throws UNSAFE_CONTENT on a malformed record. */
export function parsePaxRecords(data: Buffer): PaxRecord[] {
  const out: PaxRecord[] = [];
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // some writers NUL-pad the body
    const space = data.indexOf(0x20, pos);
    if (space < 0) throw bad('record without a length');
    const lenText = data.toString('latin1', pos, space);
    const len = Number(lenText);
    if (!/^[0-9]+$/.test(lenText) || len <= space - pos + 1 || pos + len > data.length) {
      throw bad(`bad record length "${lenText}"`);
    }
    const rec = data.subarray(space + 1, pos + len);
    if (rec[rec.length - 1] !== 0x0a) throw bad('record not newline-terminated');
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw bad('record without a key');
    out.push([rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1, rec.length - 1))]);
    pos += len;
  }
  return out;
}

/** One record, with Go's length computation (the length counts its own digits). */
export function formatPaxRecord(key: string, value: Buffer): Buffer {
  const k = Buffer.from(key, 'utf8');
  let size = k.length + value.length + 3;
  size += String(size).length;
  if (String(size).length + k.length + value.length + 3 !== size)
    size = String(size).length + k.length + value.length + 3;
  return Buffer.concat([Buffer.from(`${size} `, 'latin1'), k, Buffer.from('='), value, Buffer.from('\n')]);
}

/**
 * The `LIBARCHIVE.xattr.<url-encoded name>=<base64 value>` form (bsdtar) as the SCHILY form Go and GNU tar
 * understand; undefined for any other key.
 */
export function libarchiveXattrToSchily(key: string, value: Buffer): PaxRecord | undefined {
  const prefix = 'LIBARCHIVE.xattr.';
  if (!key.startsWith(prefix)) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(key.slice(prefix.length));
  } catch {
    return undefined;
  }
  return [`SCHILY.xattr.${name}`, Buffer.from(value.toString('latin1'), 'base64')];
}
