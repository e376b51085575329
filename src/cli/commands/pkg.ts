import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { addRegistryFlags, registryOptions } from '../registry-flags.ts';
import { examples } from './help.ts';
import { hostArch } from '../../pipeline/options.ts';
import type { BuiltPackage } from '../../pkg/build.ts';

interface RawPkgFlags {
  cache?: string;
  arch: string;
  platforms?: string;
  force?: boolean;
  push?: boolean;
  insecureRegistry: string[];
  certFile?: string;
}

/** The platforms a build covers: `--platforms` split on commas, else the one `--arch`. */
function platformsOf(f: RawPkgFlags): string[] {
  return f.platforms === undefined
    ? [f.arch]
    : f.platforms
        .split(',')
        .map((p) => p.trim())
        .filter((p) => p !== '');
}

/** `REF DIGEST PLATFORMS` on stdout, one line per package as it is built (before its push). */
async function printBuilt(ctx: CliContext, built: AsyncIterable<BuiltPackage>): Promise<void> {
  for await (const b of built) ctx.stdout.write(`${b.ref} ${b.digest} ${b.platforms.join(',')}\n`);
}

export function registerPkg(program: Command, ctx: CliContext): void {
  const pkg = program
    .command('pkg')
    .summary('build packages without Docker')
    .description("Build package images from directories with a build.yml (LinuxKit's `linuxkit pkg`, without Docker).")
    .addHelpText('after', examples('mobyts pkg build examples/packages/hello'));
  const build = pkg
    .command('build')
    .summary('build package images into the cache')
    .description(
      "Build each package DIR (and its base packages) into the image cache as <org>/<image>:<tag>,\nthe tag being a hash of the package's inputs. Skips packages already built unless --force.",
    )
    .argument('<dir...>', 'package directories')
    .option('--cache <dir>', 'image cache directory (default $LINUXKIT_CACHE or ~/.linuxkit/cache)')
    .option('--arch <arch>', 'architecture to build for', hostArch())
    .option(
      '--platforms <list>',
      'platforms to build into one multi-platform index, e.g. linux/amd64,linux/arm64 (overrides --arch)',
    )
    .option('--force', 'rebuild even when the tag is already in the cache')
    .option('--push', 'also push the image to its registry (docker.io/<org>/<image>:<tag> unless org names a registry)')
    .addHelpText(
      'after',
      examples(
        'mobyts pkg build examples/packages/kernel examples/packages/init',
        'mobyts pkg build --push --insecure-registry 127.0.0.1:5000 pkg/myapp',
      ),
    );
  addRegistryFlags(build, { mirror: false, certFor: 'the registry', insecureWhen: 'when pushing' }).action(
    async (dirs: string[], f: RawPkgFlags) => {
      const { runPkgBuild } = await import('../../pkg/run.ts');
      const built = runPkgBuild(
        dirs,
        {
          cache: f.cache,
          platforms: platformsOf(f),
          force: f.force === true,
          push: f.push === true,
          registry: registryOptions(f),
        },
        ctx,
      );
      await printBuilt(ctx, built);
    },
  );
  const push = pkg
    .command('push')
    .summary('build package images and push them to their registry')
    .description(
      "As `pkg build --push` (LinuxKit's `linuxkit pkg push`): build each package DIR into the cache unless it is\nthere already, then push it to its registry (docker.io/<org>/<image>:<tag> unless org names a registry).",
    )
    .argument('<dir...>', 'package directories')
    .option('--cache <dir>', 'image cache directory (default $LINUXKIT_CACHE or ~/.linuxkit/cache)')
    .option('--arch <arch>', 'architecture to build for', hostArch())
    .option(
      '--platforms <list>',
      'platforms to build into one multi-platform index, e.g. linux/amd64,linux/arm64 (overrides --arch)',
    )
    .option('--force', 'rebuild even when the tag is already in the cache')
    .addHelpText('after', examples('mobyts pkg push --insecure-registry localhost:5000 examples/packages/init'));
  addRegistryFlags(push, { mirror: false, certFor: 'the registry', insecureWhen: 'when pushing' }).action(
    async (dirs: string[], f: RawPkgFlags) => {
      const { runPkgBuild } = await import('../../pkg/run.ts');
      const built = runPkgBuild(
        dirs,
        {
          cache: f.cache,
          platforms: platformsOf(f),
          force: f.force === true,
          push: true,
          registry: registryOptions(f),
        },
        ctx,
      );
      await printBuilt(ctx, built);
    },
  );
  pkg
    .command('show-tag')
    .summary("print a package's image name")
    .argument('<dir...>', 'package directories')
    .addHelpText('after', examples('mobyts pkg show-tag examples/packages/hello'))
    .action(async (dirs: string[]) => {
      const { packageInfo } = await import('../../pkg/tag.ts');
      for (const d of dirs) ctx.stdout.write(`${(await packageInfo(d)).ref}\n`);
    });
}
