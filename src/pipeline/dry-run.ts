/**
 * `mobyts build --dry-run`: the merged, normalised spec as YAML on stdout, followed by the output files the
 * build would write as YAML comments (so the output is still a spec you can feed back in). The specs come
 * loaded and checked (`loadBuildSpecs`); bad flags are usage errors (exit code 2).
 */
import { stringify } from 'yaml';
import type { LoadedSpecs } from '../spec/load.ts';
import type { CommandContext } from '../util/context.ts';
import { normaliseSpec } from '../spec/normalise.ts';
import type { BuildOptions } from './options.ts';
import { planOutputs, plannedOutputFiles } from './outputs-plan.ts';
import { pinLines, readLock } from '../lock/pin.ts';
import { defaultLockPath } from '../lock/run-lock.ts';

/** Writes the dry-run of `loaded` (from `loadBuildSpecs(files, …)`, without errors) to stdout. */
export async function runDryRun(
  files: string[],
  loaded: LoadedSpecs,
  opts: BuildOptions,
  ctx: Pick<CommandContext, 'stdout'>,
): Promise<void> {
  const outputs = plannedOutputFiles(planOutputs(loaded.name, opts, loaded.spec));
  const yaml = stringify(normaliseSpec(loaded.spec), { lineWidth: 0 });
  ctx.stdout.write(`${yaml}# outputs:\n${outputs.map((o) => `#   ${o}\n`).join('')}${await lockedPins(files, opts)}`);
}

/** With --locked, the digests the build would use instead of resolving tags, as comment lines. */
async function lockedPins(files: string[], opts: BuildOptions): Promise<string> {
  if (opts.locked === undefined) return '';
  const path = opts.locked === '' ? defaultLockPath(files) : opts.locked;
  const lock = await readLock(path);
  return `# locked (${path}):\n${pinLines(lock, opts.arch)
    .map((l) => `#   ${l}\n`)
    .join('')}`;
}
