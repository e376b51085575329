import { Option, type Command } from 'commander';
import type { CliContext } from '../context.ts';
import { examples } from './help.ts';

const collect = (value: string, previous: string[]): string[] => [...previous, ...value.split(',').map((s) => s.trim()).filter((s) => s !== '')];

interface RawLockFlags {
  output?: string; mirror: string[]; insecureRegistry: string[]; certFile?: string;
  disableContentTrust?: boolean; trustServer?: string; trustDir?: string;
}

export function registerLock(program: Command, ctx: CliContext): void {
  program
    .command('lock')
    .description('Resolve every image the specs name (kernel, init, onboot, onshutdown, services, volumes) to its index digest and per-platform manifest digests, verifying trust: images with Docker Content Trust first, and write them to SPEC.lock (sorted JSON). `mobyts build --locked` then builds exactly those digests.')
    .argument('<file...>', 'spec files (merged in order, as build merges them)')
    .option('--output <file>', 'lockfile to write (default: <last spec>.lock)')
    .addOption(new Option('--mirror <[registry=]url>', 'registry mirror, repeatable (also $LINUXKIT_MIRROR)').argParser(collect).default([]))
    .addOption(new Option('--insecure-registry <host>', 'allow plain HTTP or unverified TLS for HOST, repeatable').argParser(collect).default([]))
    .option('--cert-file <file>', 'extra CA certificate(s) for registries and the Notary server (PEM)')
    .option('--disable-content-trust', 'skip Docker Content Trust verification of trust: images (loudly)')
    .option('--trust-server <url>', 'Notary server (default $DOCKER_CONTENT_TRUST_SERVER, else Docker Hub\'s)')
    .option('--trust-dir <dir>', 'where Notary roots are pinned (default $MOBYTS_TRUST_DIR or ~/.mobyts/trust)')
    .addHelpText('after', examples('mobyts lock linuxkit.yml && mobyts build --locked linuxkit.yml')).action(async (files: string[], f: RawLockFlags) => {
      const { runLock } = await import('../../lock/run-lock.ts');
      const envMirrors = (process.env['LINUXKIT_MIRROR'] ?? '').split(/[\s,]+/).filter((s) => s !== '');
      const trustServer = f.trustServer ?? process.env['DOCKER_CONTENT_TRUST_SERVER'];
      await runLock(files, {
        ...(f.output === undefined ? {} : { output: f.output }),
        registry: { mirrors: [...envMirrors, ...f.mirror], insecureRegistries: f.insecureRegistry, ...(f.certFile === undefined ? {} : { caFile: f.certFile }) },
        disableContentTrust: f.disableContentTrust === true,
        ...(trustServer === undefined ? {} : { trustServer }),
        ...(f.trustDir === undefined ? {} : { trustDir: f.trustDir }),
      }, ctx);
    });
}
