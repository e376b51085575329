/**
 * `mobyts build --dry-run`: the merged, normalised spec as YAML on stdout, followed by the output files the
 * build would write as YAML comments (so the output is still a spec you can feed back in). Spec problems are
 * printed like `validate` prints them and set exit code 1; bad flags are usage errors (exit code 2).
 */
import { stringify } from 'yaml';
import type { CliContext } from '../cli/context.ts';
import { createPkgResolver } from '../pkg/template.ts';
import { hasErrors, renderIssues, summariseIssues } from '../spec/issues.ts';
import { loadSpecs } from '../spec/load.ts';
import { normaliseSpec } from '../spec/normalise.ts';
import type { BuildOptions } from './options.ts';
import { planOutputs, plannedOutputFiles } from './outputs-plan.ts';
import { pinLines, readLock } from '../lock/pin.ts';
import { defaultLockPath } from '../lock/run-lock.ts';

export async function runDryRun(files: string[], opts: BuildOptions, ctx: CliContext): Promise<void> {
  // Templates show their tags, built or not (as `linuxkit pkg show-tag` would print them).
  const loaded = await loadSpecs(files, { resolveTemplate: createPkgResolver({ cache: opts.cache, requireBuilt: false }), signal: ctx.signal });
  const names = loaded.sources.map((s) => s.file);
  if (loaded.issues.length > 0) ctx.stderr.write(`${renderIssues(loaded.issues)}${summariseIssues(loaded.issues, names)}\n`);
  if (hasErrors(loaded.issues)) {
    ctx.setExitCode(1);
    return;
  }
  const outputs = plannedOutputFiles(planOutputs(loaded.name, opts, loaded.spec));
  const yaml = stringify(normaliseSpec(loaded.spec), { lineWidth: 0 });
  ctx.stdout.write(`${yaml}# outputs:\n${outputs.map((o) => `#   ${o}\n`).join('')}${await lockedPins(files, opts)}`);
}

/** With --locked, the digests the build would use instead of resolving tags, as comment lines. */
async function lockedPins(files: string[], opts: BuildOptions): Promise<string> {
  if (opts.locked === undefined) return '';
  const path = opts.locked === '' ? defaultLockPath(files) : opts.locked;
  const lock = await readLock(path);
  return `# locked (${path}):\n${pinLines(lock, opts.arch).map((l) => `#   ${l}\n`).join('')}`;
}
