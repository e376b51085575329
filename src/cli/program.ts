/**
 * CLI wiring: flags → one library call per command (docs/architecture.md#cli). Command modules only declare their
 * flags; each action imports its implementation lazily so `mobyts --help` and warm builds start fast.
 */
import { Command, Option } from 'commander';
import type { CliContext } from './context.ts';
import { renderError } from './render-error.ts';
import { packageVersion } from './version.ts';
import { registerCommands } from './commands/index.ts';
import { createReporter, type ProgressMode } from './reporter.ts';

export function createProgram(ctx: CliContext): Command {
  const program = new Command('mobyts')
    .description('Build bootable, immutable Linux systems from LinuxKit YAML specs — no Docker, no root, reproducible.')
    .version(packageVersion(), '--version', 'print the version')
    .addOption(new Option('-q, --quiet', 'only print errors'))
    .addOption(new Option('-v, --verbose <level>', 'log level: 0 errors, 1 info (default), 2 debug, 3 trace').argParser(Number))
    .addOption(new Option('--progress <mode>', 'progress output on stderr').choices(['auto', 'tty', 'plain', 'json']).default('auto'))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => void ctx.stdout.write(s), writeErr: (s) => void ctx.stderr.write(s) })
    .hook('preAction', (cmd) => {
      const o = cmd.optsWithGlobals<{ quiet?: boolean; verbose?: number; progress: ProgressMode }>();
      ctx.reporter = createReporter(ctx.stderr, { mode: o.progress, quiet: o.quiet === true, verbose: o.verbose ?? 1 });
    });
  registerCommands(program, ctx);
  for (const sub of program.commands) sub.exitOverride().showHelpAfterError('(run with --help for usage)');
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  let exitCode = 0;
  const ctx: CliContext = {
    stdout: process.stdout,
    stderr: process.stderr,
    signal: controller.signal,
    reporter: createReporter(process.stderr, { mode: 'auto', quiet: false, verbose: 1 }),
    setExitCode: (code) => { exitCode = Math.max(exitCode, code); },
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(130); // second Ctrl-C: stop now
    controller.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    await createProgram(ctx).parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (controller.signal.aborted) {
      ctx.stderr.write('Error: interrupted; no output was written\n');
      return 130;
    }
    const { text, exitCode: code } = renderError(err);
    ctx.stderr.write(text);
    return code;
  }
  return exitCode;
}
