/**
 * `iso-efi` → `N-efi.iso`: LinuxKit's EFI ISO. The whole filesystem on ISO 9660 with an El Torito EFI FAT image
 * holding GRUB (`menuentry 'LinuxKit ISO Image'`, `linux /boot/kernel <cmdline> text`, `root=/dev/sr0` appended
 * unless given), plus the initrd when the kernel cannot mount the CD itself.
 */
import { join } from 'node:path';
import { EFI_NEED } from '../kernel-check/check.ts';
import { TOOLS } from '../tools/catalog.ts';
import { writeAtomically } from '../util/atomic.ts';
import { makeFat } from './boot-fat.ts';
import { EFI_AMD64, EFI_ARCH_NAMES, EFI_ARM64, efiArch, makeGrubEfi } from './efi-loaders.ts';
import type { FormatContext, OutputFormat } from './format.ts';
import { outputPaths, scratch, toolRun, withRoot } from './format-kit.ts';
import { efiBoot, grubConfig, makeIso } from './iso-image.ts';
import { stageIsoRoot } from './iso-rootfs.ts';

/** Builds GRUB with `config` into a FAT image at `<isoRoot>/efiboot.img`, the El Torito EFI boot image. */
export async function grubBootImage(ctx: FormatContext, isoRoot: string, config: string): Promise<void> {
  const { bootPath } = efiArch(ctx.arch);
  const grub = join(await scratch(ctx, 'grub'), 'grub.efi');
  await makeGrubEfi({
    arch: ctx.arch,
    config,
    out: grub,
    workDir: await scratch(ctx, 'grub'),
    sourceDateEpoch: ctx.sourceDateEpoch,
    signal: ctx.signal,
  });
  await makeFat({
    path: join(isoRoot, 'efiboot.img'),
    stageDir: await scratch(ctx, 'fat'),
    label: 'EFIBOOT',
    sourceDateEpoch: ctx.sourceDateEpoch,
    files: [{ dest: bootPath, from: { file: grub } }],
    signal: ctx.signal,
  });
}

const files = (n: string) => [`${n}-efi.iso`];

async function write(ctx: FormatContext): Promise<void> {
  const [out] = outputPaths(ctx, files);
  const root = await stageIsoRoot(ctx);
  const cmdline = withRoot(ctx.inputs.cmdline, ctx.arch === 'arm64' ? '/dev/vda' : '/dev/sr0');
  await grubBootImage(
    ctx,
    root.dir,
    grubConfig({ kernel: '/boot/kernel', cmdline, ...(root.initrd ? { initrd: root.initrd } : {}) }),
  );
  await writeAtomically(out!, (tmp) =>
    makeIso({
      out: tmp,
      root: root.dir,
      volid: 'LinuxKit',
      sourceDateEpoch: ctx.sourceDateEpoch,
      boot: efiBoot('efiboot.img'),
      entries: root.entries,
      commandsPath: join(ctx.workDir, 'xorriso.cmds'),
      run: toolRun(ctx),
    }),
  );
}

const FAT_TOOLS = [TOOLS.tar, TOOLS.mkfsVfat, TOOLS.mmd, TOOLS.mcopy] as const;
/** The GRUB EFI boot image's tools: amd64's, and per other arch (the `archTools` of the GRUB formats). */
export const GRUB_EFI_TOOLS = [...EFI_AMD64.grubTools, ...FAT_TOOLS] as const;
export const GRUB_EFI_ARCH_TOOLS = { arm64: [...EFI_ARM64.grubTools, ...FAT_TOOLS] } as const;

export const isoEfi: OutputFormat = {
  name: 'iso-efi',
  outputs: files,
  tools: [TOOLS.xorriso, ...GRUB_EFI_TOOLS, TOOLS.xz],
  archTools: { arm64: [TOOLS.xorriso, ...GRUB_EFI_ARCH_TOOLS.arm64, TOOLS.xz] },
  needs: ['tar', 'initrd'],
  kernel: ['iso-root', EFI_NEED],
  boot: { kind: 'cdrom', firmware: 'efi', roles: ['image'] },
  streamable: false,
  archs: EFI_ARCH_NAMES,
  write,
};
