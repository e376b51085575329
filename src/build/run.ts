import type { CliContext } from '../cli/context.ts';
import type { BuildOptions } from './options.ts';
import { MobyError } from '../util/errors.ts';

// Placeholder until the assemble module lands (issue 4); replaced, not extended. Dry runs already work.
export async function runBuild(files: string[], opts: BuildOptions, ctx: CliContext): Promise<void> {
  if (opts.dryRun) {
    const { runDryRun } = await import('./dry-run.ts');
    return runDryRun(files, opts, ctx);
  }
  throw new MobyError('build is not implemented yet', { code: 'BUILD' });
}
