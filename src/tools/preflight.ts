/**
 * Checks that every declared host tool is there before the build starts (docs/architecture.md#tools): all missing tools
 * are reported at once, in one error, with their install hints.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { ToolRequirement } from './requirement.ts';
import { MobyError } from '../util/errors.ts';

export interface PreflightOptions {
  /** Search path for executables; default `process.env.PATH`. */
  path?: string;
}

/** Absolute path of `command` on `searchPath` (or itself when absolute and present), else undefined. */
export function findTool(command: string, searchPath: string): string | undefined {
  if (isAbsolute(command)) return usable(command, constants.R_OK) ? command : undefined;
  for (const dir of searchPath.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    if (usable(candidate, constants.X_OK)) return candidate;
  }
  return undefined;
}

function usable(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

/** The requirements (deduplicated by command, first declaration wins) that are not available. */
export function missingTools(requirements: readonly ToolRequirement[], opts: PreflightOptions = {}): ToolRequirement[] {
  const searchPath = opts.path ?? process.env.PATH ?? '';
  const seen = new Map<string, ToolRequirement>();
  for (const r of requirements) if (!seen.has(r.command)) seen.set(r.command, r);
  return [...seen.values()].filter((r) => findTool(r.command, searchPath) === undefined);
}

/**
 * Throws one MobyError (code TOOL_MISSING, exit 1) naming every missing tool with why it is needed and how to
 * install it on Debian/Ubuntu, Fedora and macOS; returns normally when all are present. Performs no other I/O.
 */
export function preflight(requirements: readonly ToolRequirement[], opts: PreflightOptions = {}): void {
  const missing = missingTools(requirements, opts);
  if (missing.length === 0) return;
  const lines = missing.map(describe);
  const debian = [...new Set(missing.map((r) => r.install.debian.replace(/^apt-get install /, '')))].join(' ');
  throw new MobyError(
    `Cannot build the chosen formats: ${missing.length} required host tool${missing.length === 1 ? ' is' : 's are'} missing:\n${lines.join('\n')}`,
    { code: 'TOOL_MISSING', exitCode: 1, hint: `on Debian/Ubuntu: apt-get install ${debian}` },
  );
}

function describe(r: ToolRequirement): string {
  const hints = [`Debian/Ubuntu: ${r.install.debian}`];
  if (r.install.fedora !== undefined) hints.push(`Fedora: ${r.install.fedora}`);
  if (r.install.macos !== undefined) hints.push(`macOS: ${r.install.macos}`);
  return `  - ${r.command} (${r.why}); install with ${hints.join('; ')}`;
}
