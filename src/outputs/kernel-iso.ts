/**
 * `kernel+iso` → `N-kernel`, `N.iso`, `N-cmdline`: the kernel, its command line and the filesystem without
 * `boot/*` as a plain data ISO (`-l -J -R -joliet-long`, volume id `LinuxKit`), as LinuxKit's.
 */
import { join } from 'node:path';
import { TOOLS } from '../tools/catalog.ts';
import type { FormatContext } from './format.ts';
import { kernelWithRootfsImage, scratch, toolRun } from './format-kit.ts';
import { makeIso } from './iso-image.ts';
import { stageRootfs } from './stage-rootfs.ts';

async function writeIso(ctx: FormatContext, out: string): Promise<void> {
  const staged = await stageRootfs(await ctx.inputs.rootfsTarWithoutBootPath(), await scratch(ctx, 'rootfs'));
  await makeIso({
    out,
    root: staged.dir,
    volid: 'LinuxKit',
    sourceDateEpoch: ctx.sourceDateEpoch,
    entries: staged.entries,
    commandsPath: join(ctx.workDir, 'xorriso.cmds'),
    run: toolRun(ctx),
  });
}

export const kernelIso = kernelWithRootfsImage({
  name: 'kernel+iso',
  imageSuffix: '.iso',
  tool: TOOLS.xorriso,
  rootNeed: { fragment: 'kernel-iso', why: 'mounting the data ISO as root' },
  rootAs: 'cdrom',
  rootDevice: '/dev/sr0',
  writeImage: writeIso,
});
