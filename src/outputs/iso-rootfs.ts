/**
 * The root tree of LinuxKit's full-filesystem ISOs (iso-bios, iso-efi): the whole filesystem tar, the kernel at
 * /boot/kernel and, when the kernel cannot mount its root from the CD (no built-in ISO 9660/CD drivers in its
 * embedded config, or no embedded config at all), the initrd at /boot/initrd.img so the loader boots
 * kernel+initrd instead (docs/formats.md).
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { canMountIsoRoot, kernelConfigOf } from '../kernel-check/check.ts';
import type { FormatContext } from './format.ts';
import { scratch } from './format-kit.ts';
import { stageRootfs, type StagedEntry } from './stage-rootfs.ts';

export interface IsoRoot {
  dir: string;
  entries: StagedEntry[];
  /** `/boot/initrd.img` when the initrd is shipped, else undefined (LinuxKit's root=/dev/sr0 boot). */
  initrd: string | undefined;
}

export async function stageIsoRoot(ctx: FormatContext): Promise<IsoRoot> {
  const shipInitrd = !canMountIsoRoot(kernelConfigOf(ctx.inputs.kernelPath), ctx.arch);
  const staged = await stageRootfs(await ctx.inputs.rootfsTarPath(), await scratch(ctx, 'iso'));
  await mkdir(join(staged.dir, 'boot'), { recursive: true });
  await copyFile(ctx.inputs.kernelPath, join(staged.dir, 'boot', 'kernel'));
  if (shipInitrd) await copyFile(await ctx.inputs.initrdPath(), join(staged.dir, 'boot', 'initrd.img'));
  return { dir: staged.dir, entries: staged.entries, initrd: shipInitrd ? '/boot/initrd.img' : undefined };
}
