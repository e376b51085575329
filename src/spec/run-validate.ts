/**
 * `mobyts validate FILE...`: every problem in every file, one per line on stderr
 * (`FILE:LINE:COL: PATH: message`, then `  hint: …`), then `N problems in FILES`; exit code 1.
 * A valid set prints `FILES: valid` on stdout (warnings, if any, still go to stderr); exit code 0.
 */
import type { CliContext } from '../cli/context.ts';
import { usageError } from '../util/errors.ts';
import { hasErrors, renderIssues, summariseIssues } from './issues.ts';
import { loadSpecs } from './load.ts';

export async function runValidate(files: string[], ctx: CliContext): Promise<number> {
  if (files.length === 0) throw usageError('validate needs at least one spec file', 'mobyts validate FILE.yml [MORE.yml...]');
  const loaded = await loadSpecs(files);
  const names = loaded.sources.map((s) => s.file);
  if (loaded.issues.length > 0) ctx.stderr.write(`${renderIssues(loaded.issues)}${summariseIssues(loaded.issues, names)}\n`);
  if (hasErrors(loaded.issues)) return 1;
  ctx.stdout.write(`${names.join(', ')}: valid\n`);
  return 0;
}
