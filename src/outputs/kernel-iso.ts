/**
 * `kernel+iso` → `N-kernel`, `N.iso`, `N-cmdline`: the kernel, its command line and the filesystem without
 * `boot/*` as a plain data ISO (`-l -J -R -joliet-long`, volume id `LinuxKit`), as LinuxKit's. The tar's
 * extended attributes (file capabilities) are not written: Linux's isofs ignores AAIP, so the build warns instead.
 */
import { join } from 'node:path';
import { TOOLS } from '../tools/catalog.ts';
import type { FormatContext } from './format.ts';
import { kernelWithRootfsImage, scratch, toolRun } from './format-kit.ts';
import { makeIso } from './iso-image.ts';
import { stageRootfs, warnDroppedXattrs } from './stage-rootfs.ts';

/** The data ISO at `out`; a warning names the files whose extended attributes it cannot give the guest. */
export async function writeRootfsIso(ctx: FormatContext, out: string): Promise<void> {
  const staged = await stageRootfs(await ctx.inputs.rootfsTarWithoutBootPath(), await scratch(ctx, 'rootfs'));
  warnDroppedXattrs(ctx.reporter, 'ISO', "Linux's ISO 9660 driver reads none from Rock Ridge", staged);
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
  writeImage: writeRootfsIso,
});
