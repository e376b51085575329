/**
 * `gcp` → `N.img.tar.gz`: the BIOS disk at `--size` named `disk.raw`, in a sparse GNU tar (`--format=oldgnu -S`,
 * what Google's image import expects), gzip -9 without name or time. LinuxKit: ext4 + extlinux; mobyts: FAT +
 * syslinux (docs/formats.md).
 */
import { join } from 'node:path';
import { TOOLS } from '../tools/catalog.ts';
import { pathArg, runTool } from '../tools/run-tool.ts';
import { writeAtomically } from '../util/atomic.ts';
import { writeRawDisk } from './disk-format-kit.ts';
import { BIOS_DISK_TOOLS } from './disk-images.ts';
import type { FormatContext, OutputFormat } from './format.ts';
import { outputPaths, scratch, toolRun } from './format-kit.ts';

const files = (n: string) => [`${n}.img.tar.gz`];

async function write(ctx: FormatContext): Promise<void> {
  const [out] = outputPaths(ctx, files);
  const dir = await scratch(ctx, 'gcp');
  await writeRawDisk(ctx, { layout: 'bios', sized: true }, join(dir, 'disk.raw'));
  const tar = join(ctx.workDir, 'disk.tar');
  await runTool(
    TOOLS.tar,
    [
      `--mtime=@${ctx.sourceDateEpoch}`,
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--mode=0644',
      '--format=oldgnu',
      '-S',
      '-C',
      pathArg(dir),
      '-cf',
      pathArg(tar),
      '--',
      'disk.raw',
    ],
    toolRun(ctx),
  );
  await writeAtomically(out!, (tmp) =>
    runTool(TOOLS.gzip, ['-9', '-n', '-c', pathArg(tar)], toolRun(ctx, { stdout: tmp })).then(() => undefined),
  );
}

export const gcp: OutputFormat = {
  name: 'gcp',
  outputs: files,
  tools: [...BIOS_DISK_TOOLS, TOOLS.tar, TOOLS.gzip],
  needs: ['initrd'],
  kernel: ['initrd'],
  streamable: false,
  archs: ['amd64'],
  write,
};
