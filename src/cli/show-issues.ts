/** Prints the spec problems a load found, as `mobyts validate` prints them; the one place that does. */
import { hasErrors, renderIssues, summariseIssues } from '../spec/issues.ts';
import type { LoadedSpecs } from '../spec/load.ts';
import type { CliContext } from './context.ts';

/**
 * Writes every issue of `loaded` to stderr (`FILE:LINE:COL: PATH: message`, hints, then `N problems in FILES`).
 * Returns false and sets exit code 1 when any is an error (the command must then stop); warnings alone pass.
 */
export function showIssues(loaded: LoadedSpecs, ctx: CliContext): boolean {
  const names = loaded.sources.map((s) => s.file);
  if (loaded.issues.length > 0)
    ctx.stderr.write(`${renderIssues(loaded.issues)}${summariseIssues(loaded.issues, names)}\n`);
  if (!hasErrors(loaded.issues)) return true;
  ctx.setExitCode(1);
  return false;
}
