import type { Command } from 'commander';
import { Option } from 'commander';
import type { CliContext } from '../context.ts';
import { addRegistryFlags, collect, registryOptions } from '../registry-flags.ts';
import { showIssues } from '../show-issues.ts';
import { examples } from './help.ts';
import { hostArch, type BuildOptions } from '../../pipeline/options.ts';
import { capYoungGeneration } from '../../util/young-generation.ts';

interface RawBuildFlags {
  format: string[];
  name?: string;
  dir?: string;
  o?: string;
  size?: string;
  pull?: boolean;
  arch: string;
  cache?: string;
  decompressKernel?: boolean;
  inputTar?: string;
  sbom: boolean;
  sbomOutput: string;
  sbomCurrentTime?: boolean;
  dryRun?: boolean;
  compress: 'gzip' | 'zstd' | 'none';
  mirror: string[];
  insecureRegistry: string[];
  certFile?: string;
  locked?: string | boolean;
  disableContentTrust?: boolean;
  trustServer?: string;
  push?: string;
  cacheFrom: string[];
  cacheTo?: string;
}

export function toBuildOptions(f: RawBuildFlags): BuildOptions {
  return {
    format: f.format,
    name: f.name,
    dir: f.dir,
    output: f.o,
    size: f.size,
    pull: f.pull === true,
    arch: f.arch,
    cache: f.cache ?? process.env['LINUXKIT_CACHE'],
    decompressKernel: f.decompressKernel === true,
    inputTar: f.inputTar,
    sbom: f.sbom,
    sbomOutput: f.sbomOutput,
    sbomCurrentTime: f.sbomCurrentTime === true,
    dryRun: f.dryRun === true,
    compress: f.compress,
    mirror: registryOptions(f).mirrors,
    insecureRegistry: f.insecureRegistry,
    certFile: f.certFile,
    locked: f.locked === true ? '' : f.locked === false ? undefined : f.locked,
    disableContentTrust: f.disableContentTrust === true,
    trustServer: f.trustServer ?? process.env['DOCKER_CONTENT_TRUST_SERVER'],
    push: f.push,
    cacheFrom: f.cacheFrom,
    cacheTo: f.cacheTo,
  };
}

export function registerBuild(program: Command, ctx: CliContext): void {
  const build = program
    .command('build')
    .description(
      'Build a bootable image from one or more YAML specs (paths, - for stdin, or http(s) URLs).\nSeveral files are merged in order, as `linuxkit build` merges them.',
    )
    .argument('<file...>', 'spec files')
    .addOption(
      new Option(
        '-f, --format <format>',
        "output format, repeatable or comma-separated (default: the spec's outputs:, else kernel+initrd)",
      )
        .argParser(collect)
        .default([]),
    )
    .option('-n, --name <name>', 'name of the output files (default: basename of the last spec file)')
    .option('-d, --dir <dir>', 'directory for the output files')
    .option('-o, --o <file>', 'write the single streamable output (tar, docker) to FILE, - for stdout')
    .option('--size <size>', 'size for disk images: <n>M, <n>G or <n> (GiB)', '1024M')
    .option('--pull', 'always pull images, even when cached')
    .option('--arch <arch>', 'architecture to build for (amd64, arm64, riscv64, s390x)', hostArch())
    .option('--cache <dir>', 'image cache directory (default $LINUXKIT_CACHE or ~/.linuxkit/cache)')
    .option('--decompress-kernel', 'store the kernel decompressed (gzip, zstd, xz, lz4 bzImage payloads)')
    .option('--input-tar <file>', 'reuse unchanged sections of a previous tar output')
    .option('--no-sbom', 'do not add an SBOM to the image')
    .option('--sbom-output <path>', 'path of the SBOM inside the image', 'sbom.spdx.json')
    .option('--sbom-current-time', 'timestamp the SBOM now (not reproducible)')
    .option(
      '--dry-run',
      'print the merged, normalised spec, the outputs it would write and the build plan (image digests from the cache, the lockfile with --locked, or the registry with --pull), then exit',
    )
    .addOption(new Option('--compress <algo>', 'initrd compression').choices(['gzip', 'zstd', 'none']).default('gzip'))
    .option('--locked [lockfile]', 'build exactly the digests pinned in the lockfile (default: <spec>.lock)')
    .option('--disable-content-trust', 'skip Docker Content Trust verification of trust: images (loudly)')
    .option('--trust-server <url>', "Notary server (default $DOCKER_CONTENT_TRUST_SERVER, else Docker Hub's)")
    .addOption(
      new Option('--cache-from <[type=registry,ref=]ref>', 'read initrd sections from this registry cache, repeatable')
        .argParser((v: string, p: string[]) => [...p, v])
        .default([]),
    )
    .option('--cache-to <[type=registry,ref=]ref>', 'push the initrd sections this build used to this registry cache')
    .option('--push <ref>', 'push the outputs (and the SBOM) to REF as one OCI artifact, as `mobyts push` does')
    .addHelpText(
      'after',
      examples(
        'mobyts build -d out examples/hello.yml',
        'mobyts build -f iso-efi,qcow2-bios --size 2G -n myos linuxkit.yml',
        'mobyts build -o - -f tar linuxkit.yml | tar -t',
      ),
    );
  addRegistryFlags(build, { mirror: true }).action(async (files: string[], flags: RawBuildFlags) => {
    const opts = toBuildOptions(flags);
    // The same build as last time, with nothing changed, stops here, before the spec parser loads
    // (docs/formats.md#up-to-date).
    const { checkBuild, watchInputs } = await import('../../pipeline/up-to-date.ts');
    const check = checkBuild(files, opts);
    if (check?.upToDate !== undefined) {
      const names = check.upToDate.map((p) => p.slice(p.lastIndexOf('/') + 1));
      ctx.reporter.emit({ type: 'info', message: `Nothing changed since the last build:\n  ${names.join(' ')}` });
      return;
    }
    const { loadBuildSpecs, runBuild, watchedBuild } = await import('../../pipeline/run.ts');
    // An unknown -f name is a usage error (with the nearest name) before any spec is read or image resolved.
    const { selectFormats } = await import('../../pipeline/outputs-plan.ts');
    selectFormats(opts, {});
    const loaded = await loadBuildSpecs(files, opts, ctx.signal);
    if (!showIssues(loaded, ctx)) return;
    if (!opts.dryRun) {
      // a build of many small files would otherwise let V8's new space grow to 128 MiB (src/util/young-generation.ts)
      capYoungGeneration();
      const watched = watchInputs(check, opts, watchedBuild(files, loaded, opts));
      const { pushed, outputs, cacheAsBuilt, tools } = await runBuild(files, loaded, opts, ctx);
      await watched?.record({ outputs, cacheAsBuilt, tools }).catch((err: unknown) => {
        ctx.reporter.emit({ type: 'debug', message: `The next build cannot skip this one: ${String(err)}` });
      });
      if (pushed !== undefined) ctx.stdout.write(`${pushed.ref.expanded}@${pushed.digest}\n`);
      return;
    }
    const { runDryRun } = await import('../../pipeline/dry-run.ts');
    ctx.stdout.write(await runDryRun(files, loaded, opts, ctx));
  });
}
