/**
 * `kernel+initrd` (docs/linuxkit-behaviour.md#formats): `NAME-kernel`, `NAME-initrd.img` (microcode cpio, if any, then
 * the compressed initrd), `NAME-cmdline`; each written only when non-empty, mode 0644.
 */
import { copyFile, stat, writeFile } from 'node:fs/promises';
import { writeAtomically } from '../util/atomic.ts';
import type { FormatContext, OutputFormat } from './format.ts';

async function write(ctx: FormatContext): Promise<void> {
  const { inputs, base } = ctx;
  if ((await stat(inputs.kernelPath)).size > 0)
    await writeAtomically(`${base}-kernel`, (tmp) => copyFile(inputs.kernelPath, tmp));
  await inputs.writeInitrd(`${base}-initrd.img`, inputs.ucodePath === undefined ? [] : [inputs.ucodePath]);
  if (inputs.cmdline !== '')
    await writeAtomically(`${base}-cmdline`, (tmp) => writeFile(tmp, inputs.cmdline, { flag: 'wx' }));
}

export const kernelInitrd: OutputFormat = {
  name: 'kernel+initrd',
  outputs: (n) => [`${n}-kernel`, `${n}-initrd.img`, `${n}-cmdline`],
  tools: [],
  needs: ['initrd'],
  kernel: ['initrd'],
  boot: { kind: 'kernel', firmware: 'bios', roles: ['kernel', 'initrd', 'cmdline'] },
  streamable: false,
  write,
};
