/**
 * CLI wiring: flags → one library call per command (docs/architecture.md#cli). Start-up cost is paid per
 * command: only the module of the command named on the command line is imported (commands/index.ts lists the
 * others for `--help`), and each action imports its implementation lazily, so `mobyts validate` never loads the
 * build, registry or QEMU code.
 */
import { Command, Option } from 'commander';
import type { CliContext } from './context.ts';
import { renderError } from './render-error.ts';
import { packageVersion } from './version.ts';
import { COMMANDS, registerAll } from './commands/index.ts';
import { createReporter, type ProgressMode } from './reporter.ts';

/** Global options that take a value (so the word after them is not a command name). */
const GLOBAL_VALUE_OPTIONS = new Set(['-v', '--verbose', '--progress']);

/**
 * The top-level command `argv` runs, as written (`help build` names `build`), or undefined when there is
 * none (`--version`, `--help`, nothing). Global options may come first: `mobyts -v 2 build x.yml`.
 */
export function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--') return undefined;
    if (GLOBAL_VALUE_OPTIONS.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    return a === 'help' ? argv[i + 1] : a;
  }
  return undefined;
}

/**
 * The program with its global options, every command listed, and the command `argv` names (or all of them with
 * `load: 'all'`) declared in full. The other commands are placeholders with their summary only: enough for
 * `--help`, the did-you-mean of an unknown command, and nothing else (they are never run: naming one loads it).
 */
export async function createProgram(ctx: CliContext, load: readonly string[] | 'all'): Promise<Command> {
  const program = new Command('mobyts')
    .description('Build bootable, immutable Linux systems from LinuxKit YAML specs — no Docker, no root, reproducible.')
    .version(packageVersion(), '--version', 'print the version')
    .addOption(new Option('-q, --quiet', 'only print errors'))
    .addOption(
      new Option('-v, --verbose <level>', 'log level: 0 errors, 1 info (default), 2 debug, 3 trace').argParser(Number),
    )
    .addOption(
      new Option('--progress <mode>', 'progress output on stderr')
        .choices(['auto', 'tty', 'plain', 'json'])
        .default('auto'),
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => void ctx.stdout.write(s), writeErr: (s) => void ctx.stderr.write(s) })
    .addHelpText(
      'after',
      '\nExamples:\n  $ mobyts build -d out examples/hello.yml\n  $ mobyts validate linuxkit.yml\n  $ mobyts COMMAND --help',
    )
    .hook('preAction', (cmd) => {
      const o = cmd.optsWithGlobals<{ quiet?: boolean; verbose?: number; progress: ProgressMode }>();
      ctx.reporter = createReporter(ctx.stderr, { mode: o.progress, quiet: o.quiet === true, verbose: o.verbose ?? 1 });
    });
  if (load === 'all') await registerAll(program, ctx);
  for (const entry of COMMANDS) {
    if (load !== 'all' && load.includes(entry.name)) (await entry.load())(program, ctx);
    let cmd = program.commands.find((c) => c.name() === entry.name);
    if (cmd === undefined)
      cmd = entry.args === '' ? program.command(entry.name) : program.command(entry.name).arguments(entry.args);
    cmd.summary(entry.summary);
  }
  for (const sub of program.commands) exitOverrideAll(sub);
  return program;
}

function exitOverrideAll(cmd: Command): void {
  cmd.exitOverride().showHelpAfterError('(run with --help for usage)');
  for (const sub of cmd.commands) exitOverrideAll(sub);
}

export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  let exitCode = 0;
  const ctx: CliContext = {
    stdout: process.stdout,
    stderr: process.stderr,
    signal: controller.signal,
    reporter: createReporter(process.stderr, { mode: 'auto', quiet: false, verbose: 1 }),
    setExitCode: (code) => {
      exitCode = Math.max(exitCode, code);
    },
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(130); // second Ctrl-C: stop now
    controller.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    const word = commandWord(argv);
    // completion describes every command, so it gets all of them declared in full.
    const program = await createProgram(ctx, word === undefined ? [] : word === 'completion' ? 'all' : [word]);
    await program.parseAsync(argv, { from: 'user' });
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
