/**
 * `mobyts cache ls|pull|rm|clean|verify|export|import|push` (docs/linuxkit-behaviour.md#cache-cmd): flags → one store call
 * each, output rendered here. Every subcommand takes `--cache DIR` (default $LINUXKIT_CACHE or ~/.linuxkit/cache); the
 * pulling ones take LinuxKit's registry flags.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { addRegistryFlags, registryOptions } from '../registry-flags.ts';
import { examples } from './help.ts';
import { formatBytes } from '../reporter.ts';
import { hostArch } from '../../pipeline/options.ts';
import { registerCacheExport, registerCachePush } from './cache-remote.ts';

interface CacheFlags {
  cache?: string;
}

interface PullFlags extends CacheFlags {
  arch: string;
  mirror: string[];
  insecureRegistry: string[];
  certFile?: string;
}

function withCache(cmd: Command): Command {
  return cmd.option('--cache <dir>', 'image cache directory (default $LINUXKIT_CACHE or ~/.linuxkit/cache)');
}

function withRegistry(cmd: Command): Command {
  return addRegistryFlags(
    cmd.option('--arch <arch>', 'architecture to pull (amd64, arm64, riscv64, s390x)', hostArch()),
    { mirror: true },
  );
}

async function store(flags: CacheFlags) {
  const { openStore } = await import('../../store/index.ts');
  return openStore(flags.cache);
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return (
    rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n') + '\n'
  );
}

export function registerCache(program: Command, ctx: CliContext): void {
  const cache = program
    .command('cache')
    .description('Manage the image cache, an OCI image layout shared with `linuxkit` (default ~/.linuxkit/cache).')
    .addHelpText('after', examples('mobyts cache ls', 'mobyts cache pull alpine:3.20'));

  withCache(cache.command('ls').summary('list cached images with digests and sizes'))
    .addHelpText('after', examples('mobyts cache ls'))
    .action(async (flags: CacheFlags) => {
      const s = await store(flags);
      const { listImages } = await import('../../store/maintenance.ts');
      const images = await listImages(s.layout);
      const { listSections } = await import('../../store/sections.ts');
      const sections = await listSections(s.dir);
      const rows = [
        ['IMAGE', 'DIGEST', 'PLATFORMS', 'SIZE'],
        ...images.map((i) => [i.name, i.descriptor.digest, i.platforms.join(',') || '-', formatBytes(i.size)]),
      ];
      ctx.stdout.write(images.length === 0 ? `The cache at ${s.dir} is empty\n` : table(rows));
      if (sections.entries > 0)
        ctx.stdout.write(
          `Initrd sections: ${sections.entries} (${formatBytes(sections.bytes)}), reused by the next builds; \`mobyts cache clean\` removes them\n`,
        );
    });

  withRegistry(withCache(cache.command('pull').summary('pull images into the cache (always contacts the registry)')))
    .argument('<ref...>', 'image references')
    .addHelpText('after', examples('mobyts cache pull linuxkit/kernel:6.6.71 --arch arm64'))
    .action(async (refs: string[], flags: PullFlags) => {
      const s = await store(flags);
      const { parseReference } = await import('../../oci/reference.ts');
      const { platformFor, formatPlatform } = await import('../../store/index.ts');
      const platform = platformFor(flags.arch);
      try {
        for (const r of refs) {
          const parsed = parseReference(r);
          const ref = parsed.tag === undefined && parsed.digest === undefined ? parseReference(`${r}:latest`) : parsed; // as `linuxkit cache pull`
          const img = await s.getImage(ref, {
            platform,
            pull: true,
            reporter: ctx.reporter,
            signal: ctx.signal,
            registry: registryOptions(flags),
          });
          const size = [img.manifest.config, ...img.manifest.layers].reduce((n, d) => n + d.size, 0);
          ctx.stdout.write(
            `${ref.expanded}@${img.rootDescriptor.digest} ${formatPlatform(platform)} ${formatBytes(size)}\n`,
          );
        }
      } finally {
        await s.close();
      }
    });

  withCache(cache.command('rm').summary('remove images from the cache and free their unshared blobs'))
    .argument('<ref...>', 'image references as listed by `cache ls`')
    .addHelpText('after', examples('mobyts cache rm linuxkit/kernel:6.6.71'))
    .action(async (refs: string[], flags: CacheFlags) => {
      const s = await store(flags);
      const { removeImages } = await import('../../store/maintenance.ts');
      const r = await removeImages(s.layout, refs);
      ctx.stdout.write(
        `${r.removed.map((n) => `Removed ${n}\n`).join('')}Freed ${r.blobs} blobs, ${formatBytes(r.bytes)}\n`,
      );
    });

  withCache(cache.command('clean').summary('remove every image and blob from the cache'))
    .addHelpText('after', examples('mobyts cache clean --cache /tmp/cache'))
    .action(async (flags: CacheFlags) => {
      const s = await store(flags);
      const { cleanCache } = await import('../../store/maintenance.ts');
      const r = await cleanCache(s.layout);
      const { cleanSections } = await import('../../store/sections.ts');
      const sections = await cleanSections(s.dir);
      (await import('../../pipeline/up-to-date.ts')).forgetBuilds(s.dir);
      const { cleanImageTocs } = await import('../../store/image-tocs.ts');
      await cleanImageTocs(s.dir);
      ctx.stdout.write(`Removed ${r.images} images and ${r.blobs} blobs, freed ${formatBytes(r.bytes)}\n`);
      if (sections.entries > 0)
        ctx.stdout.write(`Removed ${sections.entries} initrd sections, freed ${formatBytes(sections.bytes)}\n`);
    });

  withCache(cache.command('verify').summary('re-hash every blob and check every image is complete'))
    .addHelpText('after', examples('mobyts cache verify'))
    .action(async (flags: CacheFlags) => {
      const s = await store(flags);
      const { verifyCache } = await import('../../store/maintenance.ts');
      const r = await verifyCache(s.layout);
      for (const p of r.problems) ctx.stdout.write(`${p.subject}: ${p.problem}\n`);
      ctx.stdout.write(
        `Checked ${r.blobs} blobs (${formatBytes(r.bytes)}) and ${r.images} images: ${r.problems.length === 0 ? 'OK' : `${r.problems.length} problems`}\n`,
      );
      if (r.problems.length > 0) ctx.setExitCode(1);
    });

  registerCacheExport(cache, ctx);
  registerCachePush(cache, ctx);

  withCache(cache.command('import').summary('import an OCI archive or a `docker save` archive into the cache'))
    .argument('<file>', 'archive to read, - for stdin')
    .addHelpText('after', examples('mobyts cache import images.tar'))
    .action(async (file: string, flags: CacheFlags) => {
      const s = await store(flags);
      const { importArchive } = await import('../../store/archive.ts');
      const { createReadStream } = await import('node:fs');
      const names = await importArchive(s.layout, file === '-' ? process.stdin : createReadStream(file));
      ctx.stdout.write(names.map((n) => `Imported ${n}\n`).join(''));
    });
  for (const sub of cache.commands) sub.exitOverride().showHelpAfterError('(run with --help for usage)');
}
