/**
 * `mobyts push REF NAME…` and `mobyts pull REF -d DIR`: a build's outputs as one OCI artifact in a registry
 * (docs/scale.md#artifacts). Flags → one call into src/remote/ each.
 */
import { Option, type Command } from 'commander';
import type { CliContext } from '../context.ts';
import type { RegistryOptions } from '../../store/types.ts';

const collect = (value: string, previous: string[]): string[] => [...previous, ...value.split(',').map((s) => s.trim()).filter((s) => s !== '')];

interface RegistryFlags { mirror?: string[]; insecureRegistry: string[]; certFile?: string }

/** The registry options of `--mirror`/`$LINUXKIT_MIRROR`, `--insecure-registry` and `--cert-file`. */
export function registryOptions(f: RegistryFlags): RegistryOptions {
  const envMirrors = (process.env['LINUXKIT_MIRROR'] ?? '').split(/[\s,]+/).filter((s) => s !== '');
  return { mirrors: f.mirror === undefined ? [] : [...envMirrors, ...f.mirror], insecureRegistries: f.insecureRegistry, ...(f.certFile === undefined ? {} : { caFile: f.certFile }) };
}

function withPushRegistry(cmd: Command): Command {
  return cmd
    .addOption(new Option('--insecure-registry <host>', 'allow plain HTTP or unverified TLS for HOST, repeatable').argParser(collect).default([]))
    .option('--cert-file <file>', 'extra CA certificate(s) for registries (PEM)');
}

/** The registry flags of pulling commands: push's, plus mirrors. */
export function withPullRegistry(cmd: Command): Command {
  return withPushRegistry(cmd.addOption(new Option('--mirror <[registry=]url>', 'registry mirror, repeatable (also $LINUXKIT_MIRROR)').argParser(collect).default([])));
}

export function registerPush(program: Command, ctx: CliContext): void {
  withPushRegistry(program
    .command('push')
    .summary('push a build\'s outputs to a registry as one OCI artifact')
    .description('Push output files as one OCI artifact (ORAS layout: one layer per file titled with its name), so\n`mobyts pull`, `mobyts run qemu REF`, `oras pull` or `skopeo copy` fetch them. Each NAME is a file or\na build\'s -d/-n prefix (every output found with that prefix).')
    .argument('<ref>', 'where to push, e.g. registry.example/os/hello:1')
    .argument('<name...>', 'output files or build prefixes')
    .addOption(new Option('--spec <file>', 'record the digest of this spec (repeatable: merged and normalised, as build reads them)').argParser(collect).default([]))
    .option('--sbom <file>', 'attach this SPDX SBOM as a layer'))
    .action(async (ref: string, names: string[], f: RegistryFlags & { spec: string[]; sbom?: string }) => {
      const { pushArtifact, SBOM_MEDIA_TYPE } = await import('../../remote/artifact.ts');
      const { outputsToPush } = await import('../../remote/outputs.ts');
      const { files, name } = await outputsToPush(names);
      if (f.sbom !== undefined) files.push({ path: f.sbom, mediaType: SBOM_MEDIA_TYPE });
      let specDigest: string | undefined;
      if (f.spec.length > 0) {
        const { specFilesDigest } = await import('../../remote/spec-digest.ts');
        specDigest = await specFilesDigest(f.spec);
      }
      const pushed = await pushArtifact({ ref, files, registry: registryOptions(f), reporter: ctx.reporter, signal: ctx.signal, ...(name === undefined ? {} : { name }), ...(specDigest === undefined ? {} : { specDigest }) });
      ctx.stdout.write(`${pushed.ref.expanded}@${pushed.digest}\n`);
    });

  withPullRegistry(program
    .command('pull')
    .summary('fetch the files of an artifact pushed by `mobyts push`')
    .description('Fetch every titled file of the OCI artifact REF into DIR, each verified against its digest while it\nstreams; files appear only when all of them verified.')
    .argument('<ref>', 'artifact reference (tag or digest)')
    .requiredOption('-d, --dir <dir>', 'directory to write the files to (created if missing)'))
    .action(async (ref: string, f: RegistryFlags & { dir: string }) => {
      const { pullArtifact } = await import('../../remote/artifact.ts');
      const pulled = await pullArtifact({ ref, dir: f.dir, registry: registryOptions(f), reporter: ctx.reporter, signal: ctx.signal });
      ctx.stdout.write(pulled.files.map((p) => `${p}\n`).join(''));
    });
}
