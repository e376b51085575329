/**
 * The read-only root filesystem images of kernel+squashfs and kernel+erofs, from the filesystem tar without
 * `boot/*`, rootless and reproducible: squashfs gets exact ownership, modes and device nodes through a pseudo
 * file; erofs (mkfs.erofs 1.5 has no such input) maps every file to root (docs/formats.md). Neither gets the
 * tar's extended attributes (file capabilities): the build warns, naming the files.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TOOLS } from '../tools/catalog.ts';
import { pathArg, runTool } from '../tools/run-tool.ts';
import type { FormatContext } from './format.ts';
import { scratch, toolRun } from './format-kit.ts';
import { stageRootfs, warnDroppedXattrs, type StagedEntry } from './stage-rootfs.ts';
import { DROPPED_SHOWN } from '../initrd/xattrs.ts';
import type { Reporter } from '../util/reporter.ts';

/**
 * A path as the filename of a mksquashfs pseudo definition: every ASCII character but letters, digits and
 * `/._-` behind a backslash (mksquashfs reads `\x` as a literal `x`, so blanks, quotes, backslashes, `[`, `*`
 * and `?` stay literal); other characters as they are. A newline cannot be written: mksquashfs reads
 * backslash-newline as a line continuation that drops the newline (undefined for such a path).
 */
export function pseudoPath(path: string): string | undefined {
  if (path.includes('\n')) return undefined;
  const escaped = [...path].map((c) => (c.charCodeAt(0) < 0x80 && !/[A-Za-z0-9/._-]/.test(c) ? `\\${c}` : c));
  return `/${escaped.join('')}`;
}

export interface PseudoFile {
  /** The definitions, one a line. */
  lines: string[];
  /** Paths that cannot be written in a pseudo file (a newline in them): they keep the staged owner and mode. */
  unexpressible: string[];
}

/**
 * mksquashfs pseudo definitions: `path m mode uid gid` for every staged entry (so nothing keeps the builder's
 * uid), `c`/`b` for device nodes, `i … f` for fifos; each path escaped by `pseudoPath`. Paths with a newline
 * cannot be expressed and are listed instead (docs/formats.md).
 */
export function pseudoDefinitions(entries: readonly StagedEntry[]): PseudoFile {
  const lines: string[] = [];
  const unexpressible: string[] = [];
  for (const e of entries) {
    if (e.type === 'link') continue;
    const mode = e.mode.toString(8).padStart(4, '0');
    const path = pseudoPath(e.path);
    if (path === undefined) unexpressible.push(e.path);
    else if (e.type === 'character-device' || e.type === 'block-device')
      lines.push(
        `${path} ${e.type === 'block-device' ? 'b' : 'c'} ${mode} ${e.uid} ${e.gid} ${e.devmajor} ${e.devminor}`,
      );
    else if (e.type === 'fifo') lines.push(`${path} i ${mode} ${e.uid} ${e.gid} f`);
    else if (e.type === 'symlink') lines.push(`${path} m 0777 ${e.uid} ${e.gid}`);
    else lines.push(`${path} m ${mode} ${e.uid} ${e.gid}`);
  }
  return { lines, unexpressible };
}

/** The warning for entries the pseudo file could not name (their owner is the builder's, their mode staged). */
function warnUnexpressible(reporter: Reporter, paths: readonly string[]): void {
  if (paths.length === 0) return;
  const shown = paths.slice(0, DROPPED_SHOWN).map((p) => JSON.stringify(p));
  const more = paths.length > shown.length ? `, and ${paths.length - shown.length} more` : '';
  reporter.emit({
    type: 'warn',
    message: `The squashfs image cannot take the owner and mode of ${paths.length} path(s) with a newline in the name (a mksquashfs pseudo file cannot name them): ${shown.join(', ')}${more}; files and directories among them are owned by the building user with their staged mode, device nodes and fifos are left out`,
  });
}

export async function makeSquashfs(ctx: FormatContext, out: string): Promise<void> {
  const staged = await stageRootfs(await ctx.inputs.rootfsTarWithoutBootPath(), await scratch(ctx, 'rootfs'));
  const pseudo = join(ctx.workDir, 'pseudo');
  const defs = pseudoDefinitions(staged.entries);
  await writeFile(pseudo, `${defs.lines.join('\n')}\n`);
  warnUnexpressible(ctx.reporter, defs.unexpressible);
  warnDroppedXattrs(
    ctx.reporter,
    'squashfs',
    "it is made from an unprivileged staging copy, and mksquashfs 4.5's pseudo file has no extended attributes",
    staged,
  );
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
  warnDroppedXattrs(
    ctx.reporter,
    'erofs',
    'it is made from an unprivileged staging copy, and mkfs.erofs 1.5 takes extended attributes only from the files on disk',
    staged,
  );
  const uuid = '00000000-0000-4000-8000-000000000000';
  await runTool(
    TOOLS.mkfsErofs,
    ['--quiet', '--all-root', `-T${ctx.sourceDateEpoch}`, `-U${uuid}`, pathArg(out), pathArg(staged.dir)],
    toolRun(ctx),
  );
}
