/**
 * `mobyts pkg build`: builds each package directory in order, then pushes it when asked. Yields one record per
 * package as it is built (before its push), for the CLI to print; writes nothing itself.
 */
import type { CommandContext } from '../util/context.ts';
import { openStore, platformFor } from '../store/index.ts';
import type { RegistryOptions } from '../store/types.ts';
import { buildPackage, type BuiltPackage } from './build.ts';
import { sourceDateEpoch } from './layer.ts';
import { pushPackage } from './push.ts';

export interface PkgBuildFlags {
  cache: string | undefined;
  /** Go architectures or `linux/<arch>` platforms, all built into one index per package. */
  platforms: string[];
  force: boolean;
  push: boolean;
  /** Where and how to push (`--insecure-registry`, `--cert-file`). */
  registry: RegistryOptions;
}

export async function* runPkgBuild(
  dirs: string[],
  f: PkgBuildFlags,
  ctx: Pick<CommandContext, 'reporter' | 'signal'>,
): AsyncGenerator<BuiltPackage> {
  const store = await openStore(f.cache ?? process.env.LINUXKIT_CACHE);
  const archs = [...new Set(f.platforms.map((p) => platformFor(p).architecture))];
  try {
    for (const dir of dirs) {
      const built = await buildPackage(dir, {
        store,
        archs,
        force: f.force,
        sourceDateEpoch: sourceDateEpoch(),
        reporter: ctx.reporter,
        signal: ctx.signal,
      });
      yield built;
      if (f.push) {
        const digest = await pushPackage(store, built.ref, {
          registry: f.registry,
          signal: ctx.signal,
          reporter: ctx.reporter,
        });
        ctx.reporter.emit({ type: 'info', message: `Pushed ${built.expanded} (${digest})` });
      }
    }
  } finally {
    await store.close();
  }
}
