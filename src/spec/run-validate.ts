/**
 * `mobyts validate FILE...`: every problem in every file, one per line on stderr
 * (`FILE:LINE:COL: PATH: message`, then `  hint: …`), then `N problems in FILES`; exit code 1.
 * A valid set prints `FILES: valid` on stdout (warnings, if any, still go to stderr); exit code 0.
 * Files are merged as `build` merges them, or checked one by one with `each`.
 */
import type { CliContext } from '../cli/context.ts';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { usageError } from '../util/errors.ts';
import { hasErrors, renderIssues, summariseIssues } from './issues.ts';
import { loadSpecs } from './load.ts';
import { TEMPLATE_PREFIX } from './rules.ts';

export interface ValidateOptions {
  /** Check every file on its own instead of as one merged build. */
  each?: boolean;
}

/**
 * Checks that an `@pkg:PATH` names a package directory (one with build.yml) and keeps the literal: computing
 * the tag may run each package's fingerprint command, which is the build's (and `--dry-run`'s) business.
 */
async function packageExists(value: string, baseDir: string): Promise<string | undefined> {
  if (!value.startsWith(TEMPLATE_PREFIX)) return undefined;
  const dir = resolve(baseDir, value.slice(TEMPLATE_PREFIX.length));
  return stat(join(dir, 'build.yml')).then((st) => (st.isFile() ? value : undefined), () => undefined);
}

async function validateSet(files: string[], ctx: CliContext): Promise<number> {
  const loaded = await loadSpecs(files, { resolveTemplate: packageExists, signal: ctx.signal });
  const names = loaded.sources.map((s) => s.file);
  if (loaded.issues.length > 0) ctx.stderr.write(`${renderIssues(loaded.issues)}${summariseIssues(loaded.issues, names)}\n`);
  if (hasErrors(loaded.issues)) return 1;
  ctx.stdout.write(`${names.join(', ')}: valid\n`);
  return 0;
}

/** Returns the exit code: 0 valid, 1 invalid. Throws a MobyError for unreadable inputs (exit code 1). */
export async function runValidate(files: string[], ctx: CliContext, opts: ValidateOptions = {}): Promise<number> {
  if (files.length === 0) throw usageError('validate needs at least one spec file', 'mobyts validate FILE.yml [MORE.yml...]');
  if (opts.each !== true) return validateSet(files, ctx);
  let code = 0;
  for (const f of files) code = Math.max(code, await validateSet([f], ctx));
  return code;
}
