import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

export function registerValidate(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .summary('check YAML specs and report every problem')
    .description('Check one or more YAML specs (paths, - for stdin, or http(s) URLs) and report every problem\nas FILE:LINE:COL: PATH: message. Exit code 0 when valid, 1 when not.')
    .argument('<file...>', 'spec files')
    .action(async (files: string[]) => {
      const { runValidate } = await import('../../spec/run-validate.ts');
      ctx.setExitCode(await runValidate(files, ctx));
    });
}
