/** `kernel+erofs` → `N-kernel`, `N-erofs.img`, `N-cmdline`: the kernel, its command line and the filesystem without `boot/*` as a erofs image. */
import { TOOLS } from '../tools/catalog.ts';
import { writeAtomically } from '../build/atomic.ts';
import type { FormatContext, OutputFormat } from './format.ts';
import { outputPaths, publishCmdline, publishKernel } from './format-kit.ts';
import { OUTPUT_FILES } from './names.ts';
import { makeErofs } from './rootfs-images.ts';

async function write(ctx: FormatContext): Promise<void> {
  const [kernel, image, cmdline] = outputPaths(ctx, 'kernel+erofs');
  await writeAtomically(image!, (tmp) => makeErofs(ctx, tmp));
  await publishKernel(ctx, kernel!);
  await publishCmdline(ctx, cmdline!);
}

export const kernelErofs: OutputFormat = {
  name: 'kernel+erofs',
  outputs: OUTPUT_FILES['kernel+erofs'],
  tools: [TOOLS.mkfsErofs],
  needs: ['tar-without-boot'],
  streamable: false,
  write,
};
