/**
 * The two bootable disk layouts every disk format is made of, built without root, loop devices or mounts:
 * BIOS = MBR (syslinux mbr.bin, bootable FAT partition at 1 MiB holding syslinux, `kernel`, `initrd.img`,
 * `syslinux.cfg`); EFI = GPT (one EFI System Partition at 1 MiB whose EFI/BOOT/BOOTX64.EFI is a UKI).
 * Disk and partition ids are derived from the partition's content, so builds are byte-reproducible.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TOOLS } from '../tools/catalog.ts';
import { pathArg, runTool } from '../tools/run-tool.ts';
import { contentHash, makeFat, type FatFile } from './boot-fat.ts';
import { EFI_AMD64, EFI_ARM64, efiArch, makeUki } from './efi-loaders.ts';
import type { FormatContext } from './format.ts';
import { scratch, toolRun } from './format-kit.ts';
import { MIB, SECTORS_PER_MIB, roundUp, writeDisk } from './partition/disk.ts';
import { ESP_TYPE, gptLayout } from './partition/gpt.ts';
import { derivedGuid } from './partition/guid.ts';
import { SECTOR, mbrSector } from './partition/mbr.ts';
import { MobyError } from '../util/errors.ts';

export interface DiskOptions {
  /** Disk size in bytes (`--size`); default: the partition plus LinuxKit's slack. */
  sizeBytes?: number;
}

const START = SECTORS_PER_MIB;

function diskSize(ctx: FormatContext, minimum: number, o: DiskOptions): number {
  if (o.sizeBytes === undefined) return minimum;
  const size = roundUp(o.sizeBytes, SECTOR);
  if (size < minimum) {
    throw new MobyError(
      `Cannot write the disk image "${ctx.base}": --size ${o.sizeBytes} bytes is smaller than the ${minimum} bytes the boot partition needs`,
      { code: 'BUILD', hint: `use --size ${Math.ceil(minimum / MIB)}M or more` },
    );
  }
  return size;
}

/** LinuxKit raw-bios syslinux.cfg. */
export function syslinuxConfig(cmdline: string): string {
  return `DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL /kernel\n  INITRD /initrd.img\n  APPEND ${cmdline}\n`;
}

/** Writes the BIOS disk (MBR + FAT + syslinux) to `out`. */
export async function buildBiosDisk(ctx: FormatContext, out: string, o: DiskOptions = {}): Promise<void> {
  const fat = join(ctx.workDir, 'bios-part.img');
  const files: FatFile[] = [
    { dest: 'initrd.img', from: { file: await ctx.inputs.initrdPath() } },
    { dest: 'kernel', from: { file: ctx.inputs.kernelPath } },
    { dest: 'syslinux.cfg', from: { text: syslinuxConfig(ctx.inputs.cmdline) } },
  ];
  const fatBytes = await makeFat({
    path: fat,
    stageDir: await scratch(ctx, 'bios-fat'),
    files,
    label: 'LINUXKIT',
    sourceDateEpoch: ctx.sourceDateEpoch,
    hiddenSectors: START,
    signal: ctx.signal,
  });
  await runTool(TOOLS.syslinux, ['--install', pathArg(fat)], toolRun(ctx));
  const size = diskSize(ctx, START * SECTOR + fatBytes + 3 * MIB, o);
  const id = await contentHash(files);
  const mbr = mbrSector({
    bootCode: (await readFile(TOOLS.syslinuxMbr.command)).subarray(0, 440),
    diskSignature: id.readUInt32LE(0),
    partitions: [{ start: START, sectors: fatBytes / SECTOR, type: 0x0c, bootable: true }],
  });
  await writeDisk(out, size, [
    { offset: 0, data: mbr },
    { offset: START * SECTOR, data: { file: fat } },
  ]);
}

/** Writes the EFI disk (GPT + ESP with a UKI as the arch's EFI/BOOT/BOOT<arch>.EFI) to `out`. */
export async function buildEfiDisk(ctx: FormatContext, out: string, o: DiskOptions = {}): Promise<void> {
  const uki = join(await scratch(ctx, 'uki'), 'linuxkit.efi');
  await makeUki({
    arch: ctx.arch,
    kernel: ctx.inputs.kernelPath,
    initrd: await ctx.inputs.initrdPath(),
    cmdline: ctx.inputs.cmdline,
    out: uki,
    workDir: join(ctx.workDir, 'uki'),
    sourceDateEpoch: ctx.sourceDateEpoch,
    signal: ctx.signal,
  });
  const fat = join(ctx.workDir, 'esp.img');
  const files: FatFile[] = [{ dest: efiArch(ctx.arch).bootPath, from: { file: uki } }];
  const fatBytes = await makeFat({
    path: fat,
    stageDir: await scratch(ctx, 'esp'),
    files,
    label: 'EFI',
    sourceDateEpoch: ctx.sourceDateEpoch,
    signal: ctx.signal,
  });
  const size = diskSize(ctx, START * SECTOR + fatBytes + MIB, o);
  const id = (await contentHash(files)).toString('hex');
  const gpt = gptLayout({
    diskSectors: size / SECTOR,
    diskGuid: derivedGuid('disk', id),
    partitions: [
      {
        start: START,
        sectors: fatBytes / SECTOR,
        type: ESP_TYPE,
        guid: derivedGuid('esp', id),
        name: 'EFI System',
        attributes: 1n << 2n,
      },
    ],
  });
  await writeDisk(out, size, [
    { offset: 0, data: gpt.primary },
    { offset: START * SECTOR, data: { file: fat } },
    { offset: gpt.backupOffset, data: gpt.backup },
  ]);
}

export const BIOS_DISK_TOOLS = [TOOLS.mkfsVfat, TOOLS.mmd, TOOLS.mcopy, TOOLS.syslinux, TOOLS.syslinuxMbr] as const;
export const EFI_DISK_TOOLS = [TOOLS.mkfsVfat, TOOLS.mmd, TOOLS.mcopy, ...EFI_AMD64.ukiTools] as const;
export const EFI_DISK_ARCH_TOOLS = { arm64: [TOOLS.mkfsVfat, TOOLS.mmd, TOOLS.mcopy, ...EFI_ARM64.ukiTools] } as const;
