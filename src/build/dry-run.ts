/**
 * `mobyts build --dry-run`: the merged, normalised spec as YAML on stdout, followed by the output files the
 * build would write as YAML comments (so the output is still a spec you can feed back in). Spec problems are
 * printed like `validate` prints them and set exit code 1; bad flags are usage errors (exit code 2).
 */
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { CliContext } from '../cli/context.ts';
import { createPkgResolver } from '../pkg/template.ts';
import { FORMAT_NAMES, isFormatName, OUTPUT_FILES, STREAMABLE_FORMATS, type FormatName } from '../outputs/names.ts';
import { hasErrors, renderIssues, summariseIssues } from '../spec/issues.ts';
import { loadSpecs } from '../spec/load.ts';
import { normaliseSpec } from '../spec/normalise.ts';
import { didYouMean } from '../spec/suggest.ts';
import type { MobySpec } from '../spec/types.ts';
import { usageError } from '../util/errors.ts';
import type { BuildOptions } from './options.ts';
import { pinLines, readLock } from '../lock/pin.ts';
import { defaultLockPath } from '../lock/run-lock.ts';

/** The formats to build: `--format`, else the spec's `outputs:`, else `tar` with `-o`, else `kernel+initrd`. */
export function selectFormats(opts: Pick<BuildOptions, 'format' | 'output'>, spec: MobySpec): FormatName[] {
  for (const f of opts.format) {
    if (!isFormatName(f)) throw usageError(`Unknown output format "${f}"${didYouMean(f, FORMAT_NAMES)}`, `formats: ${FORMAT_NAMES.join(', ')}`);
  }
  const fallback: FormatName = opts.output === undefined ? 'kernel+initrd' : 'tar';
  const chosen: FormatName[] = opts.format.length > 0 ? opts.format.filter(isFormatName)
    : spec.outputs !== undefined && spec.outputs.length > 0 ? spec.outputs.map((o) => o.format) : [fallback];
  return [...new Set(chosen)];
}

/** Every file the build writes, in format order: `-o FILE` for a single streamable format, else `DIR/NAME…`. */
export function plannedOutputFiles(formats: readonly FormatName[], opts: Pick<BuildOptions, 'name' | 'dir' | 'output'>, defaultName: string): string[] {
  if (opts.output !== undefined) {
    const [only, ...rest] = formats;
    if (only === undefined || rest.length > 0 || !STREAMABLE_FORMATS.includes(only)) {
      throw usageError(`-o needs exactly one streamable format (${STREAMABLE_FORMATS.join(' or ')}), got ${formats.join(', ')}`);
    }
    if (opts.name !== undefined || opts.dir !== undefined) throw usageError('-o cannot be combined with --name or --dir');
    return [opts.output === '-' ? '<stdout>' : opts.output];
  }
  const name = opts.name ?? defaultName;
  const files = formats.flatMap((f) => OUTPUT_FILES[f](name));
  return [...new Set(files)].map((f) => (opts.dir === undefined ? f : join(opts.dir, f)));
}

export async function runDryRun(files: string[], opts: BuildOptions, ctx: CliContext): Promise<void> {
  // Templates show their tags, built or not (as `linuxkit pkg show-tag` would print them).
  const loaded = await loadSpecs(files, { resolveTemplate: createPkgResolver({ cache: opts.cache, requireBuilt: false }), signal: ctx.signal });
  const names = loaded.sources.map((s) => s.file);
  if (loaded.issues.length > 0) ctx.stderr.write(`${renderIssues(loaded.issues)}${summariseIssues(loaded.issues, names)}\n`);
  if (hasErrors(loaded.issues)) {
    ctx.setExitCode(1);
    return;
  }
  const outputs = plannedOutputFiles(selectFormats(opts, loaded.spec), opts, loaded.name);
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
