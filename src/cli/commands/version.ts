/**
 * `mobyts version`: what a bug report needs — mobyts' version, Node's, the platform, and every host tool of
 * the tool catalog (src/tools/catalog.ts) with where it was found and, for programs, the version it reports.
 * The version probes run in parallel, each bounded by a short timeout, so a hung tool cannot hang the command.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

/** How to ask a program its version when it is not `--version` (stdout or stderr; the first version-like word is kept). */
const VERSION_ARGS: Record<string, string[]> = {
  xorriso: ['-version'],
  'mkfs.vfat': ['--help'],
  syslinux: ['--version'],
  mksquashfs: ['-version'],
  lz4: ['-V'],
};

export interface ToolReport {
  command: string;
  /** Absolute path found, or undefined when missing. */
  path?: string;
  /** Reported version, when the tool is a program that states one. */
  version?: string;
  install: string;
}

/** The first dotted version number in `text` (`1.5.4` of `xorriso 1.5.4 : RockRidge ...`, `1.9.4` of `v1.9.4`). */
export function versionIn(text: string): string | undefined {
  return /(?<![\w.])v?(\d+\.\d+(?:\.\d+)*(?:[-+~][0-9A-Za-z.+~-]*)?)/.exec(text)?.[1];
}

async function probe(path: string, args: string[]): Promise<string | undefined> {
  const { toolBanner } = await import('../../tools/tool-version.ts');
  return versionIn(await toolBanner(path, args));
}

/** Every catalog tool, deduplicated by command, in catalog order, found on `searchPath` or not. */
export async function hostTools(searchPath: string): Promise<ToolReport[]> {
  const { TOOLS } = await import('../../tools/catalog.ts');
  const { findTool } = await import('../../tools/preflight.ts');
  const unique = [...new Map(Object.values(TOOLS).map((t) => [t.command, t])).values()];
  return Promise.all(
    unique.map(async (t): Promise<ToolReport> => {
      const path = findTool(t.command, searchPath);
      const install = t.install.debian;
      if (path === undefined) return { command: t.command, install };
      if (t.command.startsWith('/')) return { command: t.command, path, install };
      const version = await probe(path, VERSION_ARGS[t.command] ?? ['--version']);
      return { command: t.command, path, install, ...(version === undefined ? {} : { version }) };
    }),
  );
}

/** The report's text: one line each for mobyts and Node, then one aligned line per tool. */
export function renderVersion(mobyts: string, tools: readonly ToolReport[]): string {
  const width = Math.max(...tools.map((t) => t.command.length));
  const lines = tools.map((t) => {
    const state =
      t.path === undefined
        ? `missing (${t.install})`
        : t.command === t.path
          ? 'found'
          : `${t.version ?? 'version unknown'}  ${t.path}`;
    return `  ${t.command.padEnd(width)}  ${state}`;
  });
  return `mobyts ${mobyts}\nnode ${process.version} ${process.platform}/${process.arch}\nhost tools:\n${lines.join('\n')}\n`;
}

export function registerVersion(program: Command, ctx: CliContext): void {
  program
    .command('version')
    .description(
      'Print the versions of mobyts and Node.js, the platform, and each host tool mobyts may run (with where it\nwas found and its version), or how to install it when missing. Paste it into bug reports.',
    )
    .addHelpText('after', '\nExample:\n  $ mobyts version')
    .action(async () => {
      const { packageVersion } = await import('../version.ts');
      ctx.stdout.write(renderVersion(packageVersion(), await hostTools(process.env['PATH'] ?? '')));
    });
}
