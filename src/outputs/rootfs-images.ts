/**
 * The read-only root filesystem images of kernel+squashfs and kernel+erofs, from the filesystem tar without
 * `boot/*`, rootless and reproducible: squashfs gets exact ownership, modes and device nodes through a pseudo
 * file; erofs (mkfs.erofs 1.5 has no such input) maps every file to root (docs/formats.md).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TOOLS } from '../tools/catalog.ts';
import { pathArg, runTool } from '../tools/run-tool.ts';
import type { FormatContext } from './format.ts';
import { scratch, toolRun } from './format-kit.ts';
import { stageRootfs, type StagedEntry } from './stage-rootfs.ts';

/**
 * mksquashfs pseudo definitions: `path m mode uid gid` for every staged entry (so nothing keeps the builder's
 * uid), `c`/`b` for device nodes, `i … f` for fifos; paths with blanks double-quoted. Paths containing `"`, `\`
 * or a newline cannot be expressed and keep the builder's ownership (docs/formats.md).
 */
export function pseudoDefinitions(entries: readonly StagedEntry[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    const mode = e.mode.toString(8).padStart(4, '0');
    if (/["\n\\]/.test(e.path)) continue;
    const path = /\s/.test(e.path) ? `"/${e.path}"` : `/${e.path}`;
    if (e.type === 'character-device' || e.type === 'block-device')
      out.push(
        `${path} ${e.type === 'block-device' ? 'b' : 'c'} ${mode} ${e.uid} ${e.gid} ${e.devmajor} ${e.devminor}`,
      );
    else if (e.type === 'fifo') out.push(`${path} i ${mode} ${e.uid} ${e.gid} f`);
    else if (e.type === 'symlink') out.push(`${path} m 0777 ${e.uid} ${e.gid}`);
    else if (e.type !== 'link') out.push(`${path} m ${mode} ${e.uid} ${e.gid}`);
  }
  return out;
}

export async function makeSquashfs(ctx: FormatContext, out: string): Promise<void> {
  const staged = await stageRootfs(await ctx.inputs.rootfsTarWithoutBootPath(), await scratch(ctx, 'rootfs'));
  const pseudo = join(ctx.workDir, 'pseudo');
  await writeFile(pseudo, `${pseudoDefinitions(staged.entries).join('\n')}\n`);
  await runTool(
    TOOLS.mksquashfs,
    [
      pathArg(staged.dir),
      pathArg(out),
      '-noappend',
      '-no-progress',
      '-quiet',
      '-comp',
      'gzip',
      '-root-uid',
      '0',
      '-root-gid',
      '0',
      '-root-mode',
      '0755',
      '-processors',
      '1',
      '-pf',
      pathArg(pseudo),
    ],
    toolRun(ctx),
  );
}

export async function makeErofs(ctx: FormatContext, out: string): Promise<void> {
  const staged = await stageRootfs(await ctx.inputs.rootfsTarWithoutBootPath(), await scratch(ctx, 'rootfs'));
  const uuid = '00000000-0000-4000-8000-000000000000';
  await runTool(
    TOOLS.mkfsErofs,
    ['--quiet', '--all-root', `-T${ctx.sourceDateEpoch}`, `-U${uuid}`, pathArg(out), pathArg(staged.dir)],
    toolRun(ctx),
  );
}
