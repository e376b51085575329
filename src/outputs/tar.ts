/**
 * `tar` (docs/linuxkit-behaviour.md#formats): the root filesystem tar itself, `NAME.tar`; streamable to `-o FILE|-`.
 */
import { createReadStream } from 'node:fs';
import { writeStreamAtomically } from '../util/atomic.ts';
import type { OutputFormat } from './format.ts';

export const tar: OutputFormat = {
  name: 'tar',
  outputs: (n) => [`${n}.tar`],
  tools: [],
  needs: ['tar'],
  kernel: [],
  streamable: true,
  write: async (ctx) =>
    writeStreamAtomically(`${ctx.base}.tar`, createReadStream(await ctx.inputs.rootfsTarPath()), {
      signal: ctx.signal,
    }),
};
