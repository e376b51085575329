/**
 * `mobyts lock SPEC...`: load and check the specs as `build` does, resolve every image (content trust first
 * for `trust:` images), and write the lockfile atomically (temp file → rename). Spec problems are printed
 * like `validate` prints them and nothing is written.
 */
import { rename, writeFile } from 'node:fs/promises';
import type { CliContext } from '../cli/context.ts';
import type { RegistryOptions } from '../store/types.ts';
import { hasErrors, renderIssues, summariseIssues } from '../spec/issues.ts';
import { loadSpecs } from '../spec/load.ts';
import { normaliseSpec } from '../spec/normalise.ts';
import { serialiseLock, type Lockfile } from './lockfile.ts';
import { resolveLock } from './resolve.ts';
import { specImages } from './spec-images.ts';

export interface LockCommandOptions {
  /** Lockfile path; default `defaultLockPath(files)`. */
  output?: string;
  registry: RegistryOptions;
  disableContentTrust: boolean;
  trustServer?: string;
  trustDir?: string;
}

/** `SPEC.lock` beside the last spec file (`moby.lock` for stdin or a URL): the file `build --locked` reads by default. */
export function defaultLockPath(files: readonly string[]): string {
  const last = files[files.length - 1];
  return last === undefined || last === '-' || /^https?:\/\//i.test(last) ? 'moby.lock' : `${last}.lock`;
}

async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** Locks `files`; returns the lock written, or undefined when the specs had errors (exit code set to 1). */
export async function runLock(files: string[], opts: LockCommandOptions, ctx: CliContext): Promise<Lockfile | undefined> {
  const loaded = await loadSpecs(files);
  const names = loaded.sources.map((s) => s.file);
  if (loaded.issues.length > 0) ctx.stderr.write(`${renderIssues(loaded.issues)}${summariseIssues(loaded.issues, names)}\n`);
  if (hasErrors(loaded.issues)) {
    ctx.setExitCode(1);
    return undefined;
  }
  const spec = normaliseSpec(loaded.spec);
  const lock = await resolveLock(specImages(spec), {
    registry: opts.registry, trust: spec.trust, disableContentTrust: opts.disableContentTrust,
    ...(opts.trustServer === undefined ? {} : { trustServer: opts.trustServer }),
    ...(opts.trustDir === undefined ? {} : { trustDir: opts.trustDir }),
    reporter: ctx.reporter, signal: ctx.signal,
  });
  const file = opts.output ?? defaultLockPath(files);
  await writeAtomic(file, serialiseLock(lock));
  ctx.reporter.emit({ type: 'info', message: `wrote ${file} (${Object.keys(lock.images).length} images)` });
  return lock;
}
