/**
 * The classic DOS/MBR partition table (sector 0): 440 bytes of boot code, a 32-bit disk signature, four
 * 16-byte entries and the 0x55AA signature. Pure: returns the 512 bytes, writes nothing.
 */
export const SECTOR = 512;

export interface MbrPartition {
  /** First sector (LBA). */
  start: number;
  /** Length in sectors. */
  sectors: number;
  /** Partition type byte: 0x0c FAT32 LBA, 0xef EFI system, 0xee GPT protective, 0x83 Linux. */
  type: number;
  bootable?: boolean;
}

export interface MbrOptions {
  /** Up to 440 bytes of BIOS boot code (e.g. syslinux mbr.bin); zeros when absent. */
  bootCode?: Buffer;
  diskSignature: number;
  partitions: readonly MbrPartition[];
}

/** CHS address of an LBA for the conventional 255-head, 63-sector geometry; 1023/254/63 when out of range. */
export function chs(lba: number): Buffer {
  const heads = 255;
  const spt = 63;
  const c = Math.floor(lba / (heads * spt));
  if (c > 1023) return Buffer.from([0xfe, 0xff, 0xff]);
  const h = Math.floor(lba / spt) % heads;
  const s = (lba % spt) + 1;
  return Buffer.from([h, ((c >> 2) & 0xc0) | s, c & 0xff]);
}

function entry(p: MbrPartition): Buffer {
  const e = Buffer.alloc(16);
  e[0] = p.bootable === true ? 0x80 : 0;
  chs(p.start).copy(e, 1);
  e[4] = p.type;
  chs(p.start + p.sectors - 1).copy(e, 5);
  e.writeUInt32LE(p.start, 8);
  e.writeUInt32LE(Math.min(p.sectors, 0xffffffff), 12);
  return e;
}

/** The 512-byte sector 0. Throws RangeError for more than 4 partitions or boot code over 440 bytes. */
export function mbrSector(opts: MbrOptions): Buffer {
  if (opts.partitions.length > 4) throw new RangeError('an MBR holds at most 4 partitions');
  const code = opts.bootCode ?? Buffer.alloc(0);
  if (code.length > 440) throw new RangeError(`MBR boot code is ${code.length} bytes; at most 440 fit`);
  const sector = Buffer.alloc(SECTOR);
  code.copy(sector, 0);
  sector.writeUInt32LE(opts.diskSignature >>> 0, 440);
  opts.partitions.forEach((p, i) => entry(p).copy(sector, 446 + 16 * i));
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}
