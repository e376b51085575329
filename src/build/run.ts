import type { CliContext } from '../cli/context.ts';
import type { BuildOptions } from './options.ts';
import { MobyError } from '../util/errors.ts';

// Placeholder until the spec and assemble modules land (issues 2 and 4); replaced, not extended.
export function runBuild(_files: string[], _opts: BuildOptions, _ctx: CliContext): Promise<void> {
  return Promise.reject(new MobyError('build is not implemented yet', { code: 'BUILD' }));
}
