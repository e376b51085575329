/**
 * `mobyts push REF NAME…` and `mobyts pull REF -d DIR`: a build's outputs as one OCI artifact in a registry
 * (docs/scale.md#artifacts). Flags → one call into src/remote/ each.
 */
import { Option, type Command } from 'commander';
import type { CliContext } from '../context.ts';
import { addRegistryFlags, collect, registryOptions, type RegistryFlags } from '../registry-flags.ts';
import { showIssues } from '../show-issues.ts';
import { examples } from './help.ts';

export function registerPush(program: Command, ctx: CliContext): void {
  addRegistryFlags(
    program
      .command('push')
      .summary("push a build's outputs to a registry as one OCI artifact")
      .description(
        "Push output files as one OCI artifact (ORAS layout: one layer per file titled with its name), so\n`mobyts pull`, `mobyts run qemu REF`, `oras pull` or `skopeo copy` fetch them. Each NAME is a file or\na build's -d/-n prefix (every output found with that prefix).",
      )
      .argument('<ref>', 'where to push, e.g. registry.example/os/hello:1')
      .argument('<name...>', 'output files or build prefixes')
      .addOption(
        new Option(
          '--spec <file>',
          'record the digest of this spec (repeatable: merged and normalised, as build reads them)',
        )
          .argParser(collect)
          .default([]),
      )
      .option('--sbom <file>', 'attach this SPDX SBOM as a layer'),
    { mirror: false, insecureWhen: 'when pushing' },
  )
    .addHelpText('after', examples('mobyts push localhost:5000/os/hello:1 out/hello --spec hello.yml'))
    .action(async (ref: string, names: string[], f: RegistryFlags & { spec: string[]; sbom?: string }) => {
      const { pushArtifact, SBOM_MEDIA_TYPE } = await import('../../remote/artifact.ts');
      const { outputsToPush } = await import('../../remote/outputs.ts');
      const { files, name } = await outputsToPush(names);
      if (f.sbom !== undefined) files.push({ path: f.sbom, mediaType: SBOM_MEDIA_TYPE });
      let specDigest: string | undefined;
      if (f.spec.length > 0) {
        const { loadDigestSpecs, loadedSpecDigest } = await import('../../remote/spec-digest.ts');
        const loaded = await loadDigestSpecs(f.spec);
        if (!showIssues(loaded, ctx)) return;
        specDigest = loadedSpecDigest(loaded);
      }
      const pushed = await pushArtifact({
        ref,
        files,
        registry: registryOptions(f),
        reporter: ctx.reporter,
        signal: ctx.signal,
        ...(name === undefined ? {} : { name }),
        ...(specDigest === undefined ? {} : { specDigest }),
      });
      ctx.stdout.write(`${pushed.ref.expanded}@${pushed.digest}\n`);
    });
}

export function registerPull(program: Command, ctx: CliContext): void {
  addRegistryFlags(
    program
      .command('pull')
      .summary('fetch the files of an artifact pushed by `mobyts push`')
      .description(
        'Fetch every titled file of the OCI artifact REF into DIR, each verified against its digest while it\nstreams; files appear only when all of them verified.',
      )
      .argument('<ref>', 'artifact reference (tag or digest)')
      .requiredOption('-d, --dir <dir>', 'directory to write the files to (created if missing)'),
    { mirror: true },
  )
    .addHelpText('after', examples('mobyts pull localhost:5000/os/hello:1 -d out'))
    .action(async (ref: string, f: RegistryFlags & { dir: string }) => {
      const { pullArtifact } = await import('../../remote/artifact.ts');
      const pulled = await pullArtifact({
        ref,
        dir: f.dir,
        registry: registryOptions(f),
        reporter: ctx.reporter,
        signal: ctx.signal,
      });
      ctx.stdout.write(pulled.files.map((p) => `${p}\n`).join(''));
    });
}
