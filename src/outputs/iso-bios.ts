/**
 * `iso-bios` → `N.iso`: LinuxKit's BIOS ISO. The whole filesystem on a hybrid ISO 9660 image (boots as CD and as
 * USB disk) with ISOLINUX (`LABEL linux`, `KERNEL /boot/kernel`, `root=/dev/sr0` appended unless the cmdline
 * has a root=), plus the initrd when the kernel cannot mount the CD itself.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TOOLS } from '../tools/catalog.ts';
import { writeAtomically } from '../util/atomic.ts';
import type { FormatContext, OutputFormat } from './format.ts';
import { outputPaths, toolRun, withRoot } from './format-kit.ts';
import { ISOLINUX_BOOT, isolinuxConfig, makeIso } from './iso-image.ts';
import { stageIsoRoot } from './iso-rootfs.ts';

const files = (n: string) => [`${n}.iso`];

async function write(ctx: FormatContext): Promise<void> {
  const [out] = outputPaths(ctx, files);
  const root = await stageIsoRoot(ctx);
  const dir = join(root.dir, 'isolinux');
  await mkdir(dir, { recursive: true });
  await copyFile(TOOLS.isolinuxBin.command, join(dir, 'isolinux.bin'));
  await copyFile(TOOLS.ldlinux.command, join(dir, 'ldlinux.c32'));
  const cmdline = withRoot(ctx.inputs.cmdline, '/dev/sr0');
  await writeFile(
    join(dir, 'isolinux.cfg'),
    isolinuxConfig({ kernel: '/boot/kernel', cmdline, ...(root.initrd ? { initrd: root.initrd } : {}) }),
  );
  await writeAtomically(out!, (tmp) =>
    makeIso({
      out: tmp,
      root: root.dir,
      volid: 'LinuxKit',
      sourceDateEpoch: ctx.sourceDateEpoch,
      boot: ISOLINUX_BOOT,
      entries: root.entries,
      commandsPath: join(ctx.workDir, 'xorriso.cmds'),
      run: toolRun(ctx),
    }),
  );
}

export const isoBios: OutputFormat = {
  name: 'iso-bios',
  outputs: files,
  tools: [TOOLS.xorriso, TOOLS.isolinuxBin, TOOLS.isohdpfx, TOOLS.ldlinux, TOOLS.xz],
  needs: ['tar', 'initrd'],
  kernel: ['iso-root'],
  boot: { kind: 'cdrom', firmware: 'bios', roles: ['image'] },
  streamable: false,
  archs: ['amd64'],
  write,
};
