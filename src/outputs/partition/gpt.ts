/**
 * GUID Partition Table (UEFI spec 2.10 §5.3): protective MBR, primary header at LBA 1 with 128 entries of 128
 * bytes from LBA 2, and the backup entries and header at the end of the disk, with their CRC32s. Pure: returns
 * the bytes and where they go.
 */
import { crc32 } from 'node:zlib';
import { guidBytes } from './guid.ts';
import { SECTOR, mbrSector } from './mbr.ts';

export const ESP_TYPE = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';
export const LINUX_FS_TYPE = '0fc63daf-8483-4772-8e79-3d69d8477de4';

const ENTRIES = 128;
const ENTRY_SIZE = 128;
/** Sectors taken by the entry array (16 KiB). */
export const ENTRY_SECTORS = (ENTRIES * ENTRY_SIZE) / SECTOR;
/** First usable LBA after the primary header and entries. */
export const FIRST_USABLE = 2 + ENTRY_SECTORS;

export interface GptPartition {
  start: number;
  sectors: number;
  type: string;
  guid: string;
  name: string;
  /** Attribute bits (bit 0 required, bit 2 legacy BIOS bootable). */
  attributes?: bigint;
}

export interface GptOptions {
  /** Disk size in sectors. */
  diskSectors: number;
  diskGuid: string;
  partitions: readonly GptPartition[];
}

export interface GptLayout {
  /** Sector 0 (protective MBR) + primary header + primary entries, to write at offset 0. */
  primary: Buffer;
  /** Backup entries + backup header, to write at `backupOffset` (the last 33 sectors). */
  backup: Buffer;
  backupOffset: number;
}

function entryArray(parts: readonly GptPartition[]): Buffer {
  const a = Buffer.alloc(ENTRIES * ENTRY_SIZE);
  parts.forEach((p, i) => {
    const o = i * ENTRY_SIZE;
    guidBytes(p.type).copy(a, o);
    guidBytes(p.guid).copy(a, o + 16);
    a.writeBigUInt64LE(BigInt(p.start), o + 32);
    a.writeBigUInt64LE(BigInt(p.start + p.sectors - 1), o + 40);
    a.writeBigUInt64LE(p.attributes ?? 0n, o + 48);
    const name = Buffer.from(p.name, 'utf16le');
    if (name.length > 72) throw new RangeError(`GPT partition name "${p.name}" is longer than 36 UTF-16 units`);
    name.copy(a, o + 56);
  });
  return a;
}

function header(o: {
  self: number;
  other: number;
  entriesLba: number;
  diskSectors: number;
  diskGuid: string;
  entriesCrc: number;
}): Buffer {
  const h = Buffer.alloc(SECTOR);
  h.write('EFI PART', 0, 'latin1');
  h.writeUInt32LE(0x00010000, 8);
  h.writeUInt32LE(92, 12);
  h.writeBigUInt64LE(BigInt(o.self), 24);
  h.writeBigUInt64LE(BigInt(o.other), 32);
  h.writeBigUInt64LE(BigInt(FIRST_USABLE), 40);
  h.writeBigUInt64LE(BigInt(o.diskSectors - 1 - ENTRY_SECTORS - 1), 48);
  guidBytes(o.diskGuid).copy(h, 56);
  h.writeBigUInt64LE(BigInt(o.entriesLba), 72);
  h.writeUInt32LE(ENTRIES, 80);
  h.writeUInt32LE(ENTRY_SIZE, 84);
  h.writeUInt32LE(o.entriesCrc, 88);
  h.writeUInt32LE(crc32(h.subarray(0, 92)), 16);
  return h;
}

/**
 * Builds the primary and backup structures. Throws RangeError when a partition lies outside the usable range
 * or partitions overlap.
 */
export function gptLayout(opts: GptOptions): GptLayout {
  const last = opts.diskSectors - 1;
  const lastUsable = last - ENTRY_SECTORS - 1;
  checkRanges(opts.partitions, lastUsable);
  const entries = entryArray(opts.partitions);
  const entriesCrc = crc32(entries);
  const common = { diskSectors: opts.diskSectors, diskGuid: opts.diskGuid, entriesCrc };
  const primaryHeader = header({ ...common, self: 1, other: last, entriesLba: 2 });
  const backupHeader = header({ ...common, self: last, other: 1, entriesLba: last - ENTRY_SECTORS });
  const pmbr = mbrSector({
    diskSignature: 0,
    partitions: [{ start: 1, sectors: Math.min(last, 0xffffffff), type: 0xee }],
  });
  return {
    primary: Buffer.concat([pmbr, primaryHeader, entries]),
    backup: Buffer.concat([entries, backupHeader]),
    backupOffset: (last - ENTRY_SECTORS) * SECTOR,
  };
}

function checkRanges(parts: readonly GptPartition[], lastUsable: number): void {
  const sorted = [...parts].sort((a, b) => a.start - b.start);
  let next = FIRST_USABLE;
  for (const p of sorted) {
    if (p.start < next || p.start + p.sectors - 1 > lastUsable || p.sectors <= 0) {
      throw new RangeError(
        `GPT partition "${p.name}" (${p.start}+${p.sectors}) does not fit in sectors ${next}..${lastUsable}`,
      );
    }
    next = p.start + p.sectors;
  }
}
