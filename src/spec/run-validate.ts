import type { CliContext } from '../cli/context.ts';
import { MobyError } from '../util/errors.ts';

// Placeholder until the spec module lands (issue 2); replaced, not extended.
export function runValidate(_files: string[], _ctx: CliContext): Promise<number> {
  return Promise.reject(new MobyError('validate is not implemented yet', { code: 'BUILD' }));
}
