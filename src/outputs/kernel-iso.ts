/**
 * `kernel+iso` → `N-kernel`, `N.iso`, `N-cmdline`: the kernel, its command line and the filesystem without
 * `boot/*` as a plain data ISO (`-l -J -R -joliet-long`, volume id `LinuxKit`), as LinuxKit's.
 */
import { join } from 'node:path';
import { TOOLS } from '../tools/catalog.ts';
import { writeAtomically } from '../build/atomic.ts';
import type { FormatContext, OutputFormat } from './format.ts';
import { outputPaths, publishCmdline, publishKernel, scratch, toolRun } from './format-kit.ts';
import { makeIso } from './iso-image.ts';
import { OUTPUT_FILES } from './names.ts';
import { stageRootfs } from './stage-rootfs.ts';

async function write(ctx: FormatContext): Promise<void> {
  const [kernel, iso, cmdline] = outputPaths(ctx, 'kernel+iso');
  const staged = await stageRootfs(await ctx.inputs.rootfsTarWithoutBootPath(), await scratch(ctx, 'rootfs'));
  await writeAtomically(iso!, (tmp) =>
    makeIso({ out: tmp, root: staged.dir, volid: 'LinuxKit', sourceDateEpoch: ctx.sourceDateEpoch, entries: staged.entries, commandsPath: join(ctx.workDir, 'xorriso.cmds'), run: toolRun(ctx) }),
  );
  await publishKernel(ctx, kernel!);
  await publishCmdline(ctx, cmdline!);
}

export const kernelIso: OutputFormat = {
  name: 'kernel+iso',
  outputs: OUTPUT_FILES['kernel+iso'],
  tools: [TOOLS.xorriso],
  needs: ['tar-without-boot'],
  streamable: false,
  write,
};
