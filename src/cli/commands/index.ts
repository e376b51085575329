/**
 * Every top-level command, in `--help` order, as data: its name, the arguments and one-line summary that
 * `mobyts --help` lists, and how to load the module that declares its flags. Only the module of the command
 * being run is imported (program.ts); the others appear in `--help` from this table alone, so `mobyts
 * --version` or `mobyts validate` never load the build, registry or QEMU code.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

export type Register = (program: Command, ctx: CliContext) => void;

export interface CommandEntry {
  name: string;
  /** Arguments as `--help` lists them: `<file...>`, `[command]` for a group of subcommands, '' for none. */
  args: string;
  summary: string;
  load(): Promise<Register>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'build',
    args: '<file...>',
    summary: 'build an image from YAML specs',
    load: async () => (await import('./build.ts')).registerBuild,
  },
  {
    name: 'validate',
    args: '<file...>',
    summary: 'check YAML specs and report every problem',
    load: async () => (await import('./validate.ts')).registerValidate,
  },
  {
    name: 'run',
    args: '[command]',
    summary: 'boot a built image',
    load: async () => (await import('./run.ts')).registerRun,
  },
  {
    name: 'lock',
    args: '<file...>',
    summary: 'pin every image of YAML specs to its digests in a lockfile',
    load: async () => (await import('./lock.ts')).registerLock,
  },
  {
    name: 'trust',
    args: '[command]',
    summary: 'manage Docker Content Trust pins',
    load: async () => (await import('./trust.ts')).registerTrust,
  },
  {
    name: 'pkg',
    args: '[command]',
    summary: 'build packages without Docker',
    load: async () => (await import('./pkg.ts')).registerPkg,
  },
  {
    name: 'cache',
    args: '[command]',
    summary: 'list, pull, remove, verify, export and import cached images',
    load: async () => (await import('./cache.ts')).registerCache,
  },
  {
    name: 'push',
    args: '<ref> <name...>',
    summary: "push a build's outputs to a registry as one OCI artifact",
    load: async () => (await import('./push.ts')).registerPush,
  },
  {
    name: 'pull',
    args: '<ref>',
    summary: 'fetch the files of an artifact pushed by `mobyts push`',
    load: async () => (await import('./push.ts')).registerPull,
  },
  {
    name: 'completion',
    args: '<shell>',
    summary: 'print a shell completion script (bash, zsh or fish)',
    load: async () => (await import('./completion.ts')).registerCompletion,
  },
  {
    name: 'version',
    args: '',
    summary: 'print the versions of mobyts, Node.js and the host tools found',
    load: async () => (await import('./version.ts')).registerVersion,
  },
];

/** Registers every command in full (all modules loaded): for `completion`, which describes them all. */
export async function registerAll(program: Command, ctx: CliContext): Promise<void> {
  for (const c of COMMANDS) (await c.load())(program, ctx);
}
