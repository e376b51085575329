/**
 * Field codecs of the 512-byte tar header block (POSIX ustar, pax, GNU base-256 numbers). Pure functions.
 * Offsets follow POSIX.1-2001 "ustar Interchange Format".
 */
export const BLOCK = 512;

export const F = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [number, number]>;

export type Field = keyof typeof F;

export function field(block: Buffer, f: Field): Buffer {
  const [off, len] = F[f];
  return block.subarray(off, off + len);
}

/** A NUL-terminated (or full-width) byte string, as raw bytes. */
export function readBytes(block: Buffer, f: Field): Buffer {
  const b = field(block, f);
  const nul = b.indexOf(0);
  return nul < 0 ? b : b.subarray(0, nul);
}

export function readString(block: Buffer, f: Field): string {
  return readBytes(block, f).toString('utf8');
}

/**
 * A numeric field: octal text (space/NUL padded) or GNU base-256 (high bit of the first byte set).
 * Returns undefined for text that is not octal.
 */
export function readNumber(block: Buffer, f: Field): number | undefined {
  const b = field(block, f);
  if (b.length > 0 && ((b[0] ?? 0) & 0x80) !== 0) return readBase256(b);
  const text = b.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  return parseInt(text, 8);
}

function readBase256(b: Buffer): number {
  // Go's rule: a set 0x40 bit means negative; invert the bytes and read -x-1 (two's complement).
  const inv = ((b[0] ?? 0) & 0x40) !== 0 ? 0xff : 0;
  let v = 0n;
  for (let i = 0; i < b.length; i++) {
    let c = (b[i] ?? 0) ^ inv;
    if (i === 0) c &= 0x7f;
    v = (v << 8n) | BigInt(c);
  }
  return Number(inv === 0 ? v : -v - 1n);
}

/** The header checksum: sum of all bytes with the chksum field read as spaces (unsigned and signed forms). */
export function checksums(block: Buffer): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return { unsigned, signed };
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** True when `n` fits an octal field of `width` bytes with Go's trailing NUL (width-1 digits). */
export function fitsOctal(n: number, width: number): boolean {
  return Number.isInteger(n) && n >= 0 && n < 8 ** (width - 1);
}

/** Writes `n` as zero-padded octal with a trailing NUL, the way Go's archive/tar formats numbers. */
export function writeOctal(block: Buffer, f: Field, n: number): void {
  const [off, len] = F[f];
  const digits = fitsOctal(n, len) ? n.toString(8) : '0';
  block.write(digits.padStart(len - 1, '0'), off, 'latin1');
  block[off + len - 1] = 0;
}

/** Copies `bytes` into a field, NUL-terminating when shorter, truncating when longer (callers checked). */
export function writeBytes(block: Buffer, f: Field, bytes: Buffer): void {
  const [off, len] = F[f];
  bytes.copy(block, off, 0, Math.min(len, bytes.length));
}

/** Sets the checksum field as Go does: six octal digits, NUL, space. */
export function writeChecksum(block: Buffer): void {
  const sum = checksums(block).unsigned;
  block.write(sum.toString(8).padStart(6, '0'), 148, 'latin1');
  block[154] = 0;
  block[155] = 0x20;
}
