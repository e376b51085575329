/** Every top-level command, in `--help` order. Each module declares flags only; actions load lazily. */
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { registerBuild } from './build.ts';
import { registerValidate } from './validate.ts';
import { registerRun } from './run.ts';
import { registerLock } from './lock.ts';
import { registerTrust } from './trust.ts';
import { registerPkg } from './pkg.ts';
import { registerCache } from './cache.ts';
import { registerPush } from './push.ts';

export function registerCommands(program: Command, ctx: CliContext): void {
  registerBuild(program, ctx);
  registerValidate(program, ctx);
  registerRun(program, ctx);
  registerLock(program, ctx);
  registerTrust(program, ctx);
  registerPkg(program, ctx);
  registerCache(program, ctx);
  registerPush(program, ctx);
}
