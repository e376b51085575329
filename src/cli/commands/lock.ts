import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { addRegistryFlags, registryOptions } from '../registry-flags.ts';
import { showIssues } from '../show-issues.ts';
import { examples } from './help.ts';

interface RawLockFlags {
  output?: string;
  mirror: string[];
  insecureRegistry: string[];
  certFile?: string;
  disableContentTrust?: boolean;
  trustServer?: string;
  trustDir?: string;
}

export function registerLock(program: Command, ctx: CliContext): void {
  const lock = program
    .command('lock')
    .description(
      'Resolve every image the specs name (kernel, init, onboot, onshutdown, services, volumes) to its index digest and per-platform manifest digests, verifying trust: images with Docker Content Trust first, and write them to SPEC.lock (sorted JSON). `mobyts build --locked` then builds exactly those digests.',
    )
    .argument('<file...>', 'spec files (merged in order, as build merges them)')
    .option('--output <file>', 'lockfile to write (default: <last spec>.lock)')
    .option('--disable-content-trust', 'skip Docker Content Trust verification of trust: images (loudly)')
    .option('--trust-server <url>', "Notary server (default $DOCKER_CONTENT_TRUST_SERVER, else Docker Hub's)")
    .option('--trust-dir <dir>', 'where Notary roots are pinned (default $MOBYTS_TRUST_DIR or ~/.mobyts/trust)')
    .addHelpText('after', examples('mobyts lock linuxkit.yml && mobyts build --locked linuxkit.yml'));
  addRegistryFlags(lock, { mirror: true, certFor: 'registries and the Notary server' }).action(
    async (files: string[], f: RawLockFlags) => {
      const [{ runLock }, { loadSpecs }] = await Promise.all([
        import('../../pipeline/lock.ts'),
        import('../../spec/load.ts'),
      ]);
      const loaded = await loadSpecs(files);
      if (!showIssues(loaded, ctx)) return;
      const trustServer = f.trustServer ?? process.env['DOCKER_CONTENT_TRUST_SERVER'];
      await runLock(
        files,
        loaded,
        {
          ...(f.output === undefined ? {} : { output: f.output }),
          registry: registryOptions(f),
          disableContentTrust: f.disableContentTrust === true,
          ...(trustServer === undefined ? {} : { trustServer }),
          ...(f.trustDir === undefined ? {} : { trustDir: f.trustDir }),
        },
        ctx,
      );
    },
  );
}
