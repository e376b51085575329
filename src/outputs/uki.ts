/**
 * `uki` → `N.efi` (mobyts only): a unified kernel image — systemd-stub with the kernel, initrd, cmdline and an
 * os-release (`NAME="LinuxKit"`) as PE sections; boots from any ESP, El Torito image or `-kernel` under OVMF.
 */
import { EFI_NEED } from '../kernel-check/check.ts';
import { writeAtomically } from '../util/atomic.ts';
import { EFI_AMD64, EFI_ARCH_NAMES, EFI_ARM64, makeUki } from './efi-loaders.ts';
import type { FormatContext, OutputFormat } from './format.ts';
import { outputPaths, scratch } from './format-kit.ts';

const files = (n: string) => [`${n}.efi`];

async function write(ctx: FormatContext): Promise<void> {
  const [out] = outputPaths(ctx, files);
  const initrd = await ctx.inputs.initrdPath();
  const workDir = await scratch(ctx, 'uki');
  await writeAtomically(out!, (tmp) =>
    makeUki({
      arch: ctx.arch,
      kernel: ctx.inputs.kernelPath,
      initrd,
      cmdline: ctx.inputs.cmdline,
      out: tmp,
      workDir,
      sourceDateEpoch: ctx.sourceDateEpoch,
      signal: ctx.signal,
    }),
  );
}

export const uki: OutputFormat = {
  name: 'uki',
  outputs: files,
  tools: EFI_AMD64.ukiTools,
  archTools: { arm64: EFI_ARM64.ukiTools },
  needs: ['initrd'],
  kernel: ['initrd', EFI_NEED],
  boot: { kind: 'efi-kernel', firmware: 'efi', roles: ['kernel'] },
  streamable: false,
  archs: EFI_ARCH_NAMES,
  write,
};
