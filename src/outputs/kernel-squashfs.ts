/** `kernel+squashfs` → `N-kernel`, `N-squashfs.img`, `N-cmdline`: the kernel, its command line and the filesystem without `boot/*` as a squashfs image. */
import { TOOLS } from '../tools/catalog.ts';
import { writeAtomically } from '../build/atomic.ts';
import type { FormatContext, OutputFormat } from './format.ts';
import { outputPaths, publishCmdline, publishKernel } from './format-kit.ts';
import { OUTPUT_FILES } from './names.ts';
import { makeSquashfs } from './rootfs-images.ts';

async function write(ctx: FormatContext): Promise<void> {
  const [kernel, image, cmdline] = outputPaths(ctx, 'kernel+squashfs');
  await writeAtomically(image!, (tmp) => makeSquashfs(ctx, tmp));
  await publishKernel(ctx, kernel!);
  await publishCmdline(ctx, cmdline!);
}

export const kernelSquashfs: OutputFormat = {
  name: 'kernel+squashfs',
  outputs: OUTPUT_FILES['kernel+squashfs'],
  tools: [TOOLS.mksquashfs],
  needs: ['tar-without-boot'],
  streamable: false,
  write,
};
