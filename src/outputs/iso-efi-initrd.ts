/**
 * `iso-efi-initrd` → `N-efi-initrd.iso`: LinuxKit's EFI ISO that boots kernel+initrd: `/kernel` and
 * `/initrd.img` at the ISO root, GRUB in the El Torito FAT image (`linux /kernel <cmdline> text`,
 * `initrd /initrd.img`).
 */
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EFI_NEED } from '../kernel-check/check.ts';
import { TOOLS } from '../tools/catalog.ts';
import { writeAtomically } from '../util/atomic.ts';
import type { FormatContext, OutputFormat } from './format.ts';
import { outputPaths, scratch, toolRun } from './format-kit.ts';
import { EFI_ARCH_NAMES } from './efi-loaders.ts';
import { GRUB_EFI_ARCH_TOOLS, GRUB_EFI_TOOLS, grubBootImage } from './iso-efi.ts';
import { efiBoot, grubConfig, makeIso } from './iso-image.ts';

const files = (n: string) => [`${n}-efi-initrd.iso`];

async function write(ctx: FormatContext): Promise<void> {
  const [out] = outputPaths(ctx, files);
  const root = await scratch(ctx, 'iso');
  await copyFile(ctx.inputs.kernelPath, join(root, 'kernel'));
  await copyFile(await ctx.inputs.initrdPath(), join(root, 'initrd.img'));
  await grubBootImage(ctx, root, grubConfig({ kernel: '/kernel', initrd: '/initrd.img', cmdline: ctx.inputs.cmdline }));
  await writeAtomically(out!, (tmp) =>
    makeIso({
      out: tmp,
      root,
      volid: 'LinuxKit',
      sourceDateEpoch: ctx.sourceDateEpoch,
      boot: efiBoot('efiboot.img'),
      commandsPath: join(ctx.workDir, 'xorriso.cmds'),
      run: toolRun(ctx),
    }),
  );
}

export const isoEfiInitrd: OutputFormat = {
  name: 'iso-efi-initrd',
  outputs: files,
  tools: [TOOLS.xorriso, ...GRUB_EFI_TOOLS],
  archTools: { arm64: [TOOLS.xorriso, ...GRUB_EFI_ARCH_TOOLS.arm64] },
  needs: ['initrd'],
  kernel: ['initrd', EFI_NEED],
  boot: { kind: 'cdrom', firmware: 'efi', roles: ['image'] },
  streamable: false,
  archs: EFI_ARCH_NAMES,
  write,
};
