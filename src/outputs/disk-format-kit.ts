/**
 * Builds format records for the disk formats that are a BIOS or EFI disk, optionally converted by qemu-img,
 * so each format file only states its name, layout, target and whether `--size` applies.
 */
import { join, basename } from 'node:path';
import { TOOLS } from '../tools/catalog.ts';
import { writeAtomically } from '../util/atomic.ts';
import { convertDisk, type DiskTarget } from './disk-convert.ts';
import { BIOS_DISK_TOOLS, EFI_DISK_ARCH_TOOLS, EFI_DISK_TOOLS, buildBiosDisk, buildEfiDisk } from './disk-images.ts';
import { EFI_ARCH_NAMES } from './efi-loaders.ts';
import { EFI_NEED } from '../kernel-check/check.ts';
import type { BootRecipe, FormatContext, OutputFormat } from './format.ts';
import type { FormatName } from '../spec/format-names.ts';
import { outputPaths, toolRun } from './format-kit.ts';

export interface DiskFormatSpec {
  name: FormatName;
  /** The one file it writes, e.g. `${n}-bios.img`. */
  file: (name: string) => string;
  layout: 'bios' | 'efi';
  /** Undefined: the raw disk itself is the output. */
  target?: DiskTarget;
  /** Whether `--size` sets the disk size (else the disk is just big enough, as LinuxKit's raw-* are). */
  sized: boolean;
  /** qemu's block format when `mobyts run qemu` boots the file; undefined: not bootable by it. */
  qemuFormat?: BootRecipe['imageFormat'];
}

/** Writes the raw disk of `spec.layout` at `out`. */
export async function writeRawDisk(
  ctx: FormatContext,
  spec: Pick<DiskFormatSpec, 'layout' | 'sized'>,
  out: string,
): Promise<void> {
  const opts = spec.sized ? { sizeBytes: ctx.sizeBytes } : {};
  if (spec.layout === 'bios') await buildBiosDisk(ctx, out, opts);
  else await buildEfiDisk(ctx, out, opts);
}

export function diskFormat(spec: DiskFormatSpec): OutputFormat {
  const layoutTools = spec.layout === 'bios' ? BIOS_DISK_TOOLS : EFI_DISK_TOOLS;
  const files = (n: string) => [spec.file(n)];
  const qemuFormat = spec.qemuFormat;
  return {
    name: spec.name,
    outputs: files,
    tools: spec.target === undefined ? [...layoutTools] : [...layoutTools, TOOLS.qemuImg],
    ...(spec.layout === 'efi'
      ? {
          archTools: {
            arm64:
              spec.target === undefined
                ? [...EFI_DISK_ARCH_TOOLS.arm64]
                : [...EFI_DISK_ARCH_TOOLS.arm64, TOOLS.qemuImg],
          },
        }
      : {}),
    needs: ['initrd'],
    kernel: spec.layout === 'bios' ? ['initrd'] : ['initrd', EFI_NEED],
    ...(qemuFormat === undefined
      ? {}
      : { boot: { kind: 'disk', firmware: spec.layout, imageFormat: qemuFormat, roles: ['image'] } }),
    streamable: false,
    // BIOS loaders (syslinux) are x86 only; the EFI layout has a UKI for every arch with EFI loaders.
    archs: spec.layout === 'bios' ? ['amd64'] : EFI_ARCH_NAMES,
    async write(ctx: FormatContext): Promise<void> {
      const [out] = outputPaths(ctx, files);
      const target = spec.target;
      if (target === undefined) return writeAtomically(out!, (tmp) => writeRawDisk(ctx, spec, tmp));
      const raw = join(ctx.workDir, 'disk.raw');
      await writeRawDisk(ctx, spec, raw);
      await writeAtomically(out!, (tmp) =>
        convertDisk({
          raw,
          out: tmp,
          finalName: basename(out!),
          target,
          sourceDateEpoch: ctx.sourceDateEpoch,
          run: toolRun(ctx),
        }),
      );
    },
  };
}
