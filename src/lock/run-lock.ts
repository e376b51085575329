/**
 * `mobyts lock SPEC...`: load and check the specs as `build` does, resolve every image (content trust first
 * for `trust:` images), and write the lockfile atomically (temp file → rename). The specs come loaded and
 * checked (`loadSpecs`; the caller shows the problems and does not lock specs with errors).
 */
import { rename, writeFile } from 'node:fs/promises';
import type { RegistryOptions } from '../store/types.ts';
import type { LoadedSpecs } from '../spec/load.ts';
import type { CommandContext } from '../util/context.ts';
import { normaliseSpec } from '../spec/normalise.ts';
import { serialiseLock, type Lockfile } from './lockfile.ts';
import { lockfileFromImages } from './image-plan.ts';
import { planImagesFromRegistry } from './resolve.ts';
import { specImageRefs } from './spec-images.ts';

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

/** Locks `loaded` (the specs `files`, loaded without errors); returns the lock written. */
export async function runLock(
  files: string[],
  loaded: LoadedSpecs,
  opts: LockCommandOptions,
  ctx: CommandContext,
): Promise<Lockfile> {
  const spec = normaliseSpec(loaded.spec);
  // the lock's walk is the plan's (docs/architecture.md#pipeline): the spec's images described through the
  // registry, then written out; a lockfile keeps every platform, so the one each record chose is not written
  const images = await planImagesFromRegistry(
    specImageRefs(spec).map((ref) => ({ ref, platform: 'linux/amd64' })),
    {
      registry: opts.registry,
      trust: spec.trust,
      disableContentTrust: opts.disableContentTrust,
      ...(opts.trustServer === undefined ? {} : { trustServer: opts.trustServer }),
      ...(opts.trustDir === undefined ? {} : { trustDir: opts.trustDir }),
      reporter: ctx.reporter,
      signal: ctx.signal,
    },
  );
  const lock = lockfileFromImages(images);
  const file = opts.output ?? defaultLockPath(files);
  await writeAtomic(file, serialiseLock(lock));
  ctx.reporter.emit({ type: 'info', message: `wrote ${file} (${Object.keys(lock.images).length} images)` });
  return lock;
}
