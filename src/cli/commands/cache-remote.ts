/**
 * `mobyts cache push` and `mobyts cache export` with LinuxKit's flags (docs/linuxkit-behaviour.md#cache-cmd):
 * flags → one call into src/registry/push-image.ts or src/store/{archive,export}.ts each.
 */
import { Option, type Command } from 'commander';
import type { CliContext } from '../context.ts';
import { formatBytes } from '../reporter.ts';
import { hostArch } from '../../pipeline/options.ts';
import type { Descriptor } from '../../oci/types.ts';
import type { ImageStore } from '../../store/index.ts';
import { usageError } from '../../util/errors.ts';
import { addRegistryFlags, registryOptions } from '../registry-flags.ts';
import { examples } from './help.ts';

interface Flags {
  cache?: string;
}

async function openCache(flags: Flags): Promise<ImageStore> {
  const { openStore } = await import('../../store/index.ts');
  return openStore(flags.cache);
}

/** The cache's descriptor for `ref` as `cache ls` names it (as written, or expanded); a usage error when absent. */
async function cachedEntry(s: ImageStore, ref: string, action: string): Promise<{ name: string; root: Descriptor }> {
  const { refDescriptors } = await import('../../store/layout.ts');
  const { parseReference } = await import('../../oci/reference.ts');
  const index = await s.layout.readIndex();
  const expanded = parseReference(ref).expanded;
  const root = refDescriptors(index, ref)[0] ?? refDescriptors(index, expanded)[0];
  if (root === undefined)
    throw usageError(`Cannot ${action} "${ref}": it is not in the cache at "${s.dir}"`, 'see `mobyts cache ls`');
  return { name: expanded, root };
}

export function registerCachePush(cache: Command, ctx: CliContext): void {
  addRegistryFlags(
    cache
      .command('push')
      .summary('push cached images to their registry')
      .description(
        'Push each cached image (index, every platform manifest, configs and layers) to the registry its name\nnames, or to --remote-name. An image whose tag the registry already has is left alone unless --override.',
      )
      .argument('<ref...>', 'image references as listed by `cache ls`')
      .option('--cache <dir>', 'image cache directory (default $LINUXKIT_CACHE or ~/.linuxkit/cache)')
      .option('--remote-name <ref>', 'push under this name instead (one image only)')
      .option('--with-arch-tags', "for an index, also tag each platform's manifest <tag>-<arch>")
      .option('--override', 'push even when the registry already has the tag, replacing it'),
    { mirror: false, insecureWhen: 'when pushing' },
  )
    .addHelpText(
      'after',
      examples(
        'mobyts cache push localhost:5000/mobyts/init:v1',
        'mobyts cache push --remote-name localhost:5000/os/kernel:6.1 linuxkit/kernel:6.6.71',
      ),
    )
    .action(
      async (
        refs: string[],
        f: Flags & {
          remoteName?: string;
          withArchTags?: boolean;
          override?: boolean;
          insecureRegistry: string[];
          certFile?: string;
        },
      ) => {
        if (f.remoteName !== undefined && refs.length !== 1)
          throw usageError('Cannot use --remote-name with several images', 'push one image at a time under a new name');
        const s = await openCache(f);
        const { parseReference } = await import('../../oci/reference.ts');
        const { pushCachedImage } = await import('../../registry/push-image.ts');
        for (const ref of refs) {
          const { name, root } = await cachedEntry(s, ref, 'push');
          const target = parseReference(f.remoteName ?? name);
          const r = await pushCachedImage(s.layout, name, root, target, {
            registry: registryOptions(f),
            reporter: ctx.reporter,
            signal: ctx.signal,
            override: f.override === true,
            withArchTags: f.withArchTags === true,
          });
          if (!r.skipped)
            ctx.stdout.write(`${target.expanded}@${r.digest}${r.archTags.map((t) => ` ${t}`).join('')}\n`);
        }
      },
    );
}

export function registerCacheExport(cache: Command, ctx: CliContext): void {
  cache
    .command('export')
    .summary('write cached images as an OCI archive, a docker-load archive or a filesystem tar')
    .description(
      'Write cached images to FILE (or - for stdout): `oci` a tar of an OCI layout (every cached platform, or\nonly --platform), `docker` an archive `docker load` reads, `filesystem` the image flattened into one tar.',
    )
    .argument('<ref...>', 'image references as listed by `cache ls` (one for docker and filesystem)')
    .option('--cache <dir>', 'image cache directory (default $LINUXKIT_CACHE or ~/.linuxkit/cache)')
    .requiredOption('-o, --outfile <file>', 'archive to write, - for stdout')
    .addOption(
      new Option('--format <format>', 'archive format').choices(['oci', 'docker', 'filesystem']).default('oci'),
    )
    .option('--platform <os/arch>', 'platform to export from an index (docker, filesystem: default linux/<host arch>)')
    .option('--name <ref>', 'name of the image in the archive (one image only; default its cached name)')
    .addHelpText(
      'after',
      examples(
        'mobyts cache export -o images.tar linuxkit/kernel:6.6.71',
        'mobyts cache export --format docker -o init.tar mobyts/init:v1 | docker load',
      ),
    )
    .action(
      async (
        refs: string[],
        f: Flags & { outfile: string; format: 'oci' | 'docker' | 'filesystem'; platform?: string; name?: string },
      ) => {
        if (f.format !== 'oci' && refs.length !== 1)
          throw usageError(
            `Cannot export ${refs.length} images as ${f.format}: it holds one image`,
            'export them one at a time, or use --format oci',
          );
        if (f.name !== undefined && refs.length !== 1) throw usageError('Cannot use --name with several images');
        const s = await openCache(f);
        const { platformFor } = await import('../../store/index.ts');
        const { writeAtomically } = await import('../../store/archive-file.ts');
        const platform = platformFor(f.platform ?? `linux/${hostArch()}`);
        const entries = await Promise.all(refs.map((r) => cachedEntry(s, r, 'export')));
        const first = entries[0];
        if (f.format === 'docker' && first !== undefined) {
          const { exportDocker } = await import('../../store/export.ts');
          const r = await writeAtomically(f.outfile, ctx.stdout, (out) =>
            exportDocker(s.layout, first.root, { name: f.name ?? first.name, platform, out }),
          );
          ctx.stderr.write(
            `Exported ${first.name} for ${f.platform ?? `linux/${hostArch()}`}, ${r.blobs} blobs (${formatBytes(r.bytes)})\n`,
          );
          return;
        }
        if (f.format === 'filesystem' && first !== undefined) {
          const { exportFilesystem } = await import('../../image/export-filesystem.ts');
          const { parseReference } = await import('../../oci/reference.ts');
          await writeAtomically(f.outfile, ctx.stdout, (out) =>
            exportFilesystem(s.layout, parseReference(first.name), first.root, {
              platform,
              out,
              reporter: ctx.reporter,
            }),
          );
          ctx.stderr.write(`Exported the filesystem of ${first.name}\n`);
          return;
        }
        const { exportArchive } = await import('../../store/archive.ts');
        const { platformManifest } = await import('../../store/export.ts');
        const { REF_NAME_ANNOTATION } = await import('../../oci/types.ts');
        const named = await Promise.all(
          entries.map(async (e) => {
            const d =
              f.platform === undefined
                ? e.root
                : await platformManifest(s.layout, e.root, platform, `Cannot export "${e.name}"`);
            return {
              ...d,
              annotations: {
                ...e.root.annotations,
                [REF_NAME_ANNOTATION]: f.name ?? e.root.annotations?.[REF_NAME_ANNOTATION] ?? e.name,
              },
            };
          }),
        );
        const r = await writeAtomically(f.outfile, ctx.stdout, (out) => exportArchive(s.layout, named, out));
        ctx.stderr.write(`Exported ${named.length} images, ${r.blobs} blobs (${formatBytes(r.bytes)})\n`);
      },
    );
}
