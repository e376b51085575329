/**
 * `tar-kernel-initrd` (docs/linuxkit-behaviour.md#formats): `NAME-initrd.tar` holding `kernel`, `initrd.img`, `cmdline`
 * and `ucode.cpio` (those that are non-empty), mode 0644, root-owned, mtime = the build's source date.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { writeStreamAtomically } from '../util/atomic.ts';
import { tarStream } from '../tar/io.ts';
import type { EntryStream, TarEntry } from '../tar/entry.ts';
import type { FormatContext, OutputFormat } from './format.ts';

function header(name: string, size: number, mtime: number): TarEntry['header'] {
  return { name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime, size };
}

async function* entries(ctx: FormatContext): EntryStream {
  const { inputs, sourceDateEpoch: mtime } = ctx;
  const files: Array<[string, string | undefined]> = [
    ['kernel', inputs.kernelPath],
    ['initrd.img', await inputs.initrdPath()],
    ['ucode.cpio', inputs.ucodePath],
  ];
  for (const [name, path] of files.slice(0, 2)) {
    if (path === undefined) continue;
    const { size } = await stat(path);
    if (size > 0) yield { header: header(name, size, mtime), body: createReadStream(path) };
  }
  const cmdline = Buffer.from(inputs.cmdline);
  if (cmdline.length > 0) yield { header: header('cmdline', cmdline.length, mtime), body: Readable.from([cmdline]) };
  const ucode = files[2]?.[1];
  if (ucode !== undefined) {
    const { size } = await stat(ucode);
    if (size > 0) yield { header: header('ucode.cpio', size, mtime), body: createReadStream(ucode) };
  }
}

export const tarKernelInitrd: OutputFormat = {
  name: 'tar-kernel-initrd',
  outputs: (n) => [`${n}-initrd.tar`],
  tools: [],
  needs: ['initrd'],
  kernel: ['initrd'],
  streamable: false,
  write: (ctx) => writeStreamAtomically(`${ctx.base}-initrd.tar`, tarStream(entries(ctx)), { signal: ctx.signal }),
};
