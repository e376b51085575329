/** Every top-level command, in `--help` order. Each module declares flags only; actions load lazily. */
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { registerBuild } from './build.ts';
import { registerValidate } from './validate.ts';
import { registerRun } from './run.ts';

export function registerCommands(program: Command, ctx: CliContext): void {
  registerBuild(program, ctx);
  registerValidate(program, ctx);
  registerRun(program, ctx);
}
