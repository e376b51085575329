/**
 * `kernel+initrd` (docs/linuxkit-behaviour.md#formats): `NAME-kernel`, `NAME-initrd.img` (microcode cpio, if any, then
 * the compressed initrd), `NAME-cmdline`; each written only when non-empty, mode 0644.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, stat, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { writeAtomically } from '../util/atomic.ts';
import type { FormatContext, OutputFormat } from './format.ts';

async function nonEmpty(path: string): Promise<boolean> {
  return (await stat(path)).size > 0;
}

/** Copies `parts` (files, in order) into `dest` atomically; skips writing when they are all empty. */
export async function concatFiles(dest: string, parts: string[], signal: AbortSignal): Promise<void> {
  const sizes = await Promise.all(parts.map((p) => stat(p).then((s) => s.size)));
  if (sizes.every((s) => s === 0)) return;
  await writeAtomically(dest, async (tmp) => {
    if (parts.length === 1) return copyFile(parts[0] as string, tmp);
    const out = createWriteStream(tmp, { flags: 'wx' });
    for (const p of parts) await pipeline(createReadStream(p), out, { end: false, signal });
    out.end();
    await new Promise<void>((resolve, reject) => out.once('finish', resolve).once('error', reject));
  });
}

async function write(ctx: FormatContext): Promise<void> {
  const { inputs, base, signal } = ctx;
  if (await nonEmpty(inputs.kernelPath)) await concatFiles(`${base}-kernel`, [inputs.kernelPath], signal);
  const initrd = await inputs.initrdPath();
  await concatFiles(
    `${base}-initrd.img`,
    inputs.ucodePath === undefined ? [initrd] : [inputs.ucodePath, initrd],
    signal,
  );
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
