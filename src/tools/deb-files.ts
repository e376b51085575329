/**
 * Files from Debian packages of another architecture (the arm64 GRUB modules and systemd-stub on an amd64
 * host): the host's copy when the file is installed at its Debian path, else the package's .deb fetched with
 * `apt-get download` and unpacked with `dpkg-deb -x` into a per-user cache — never installed, nothing in it
 * run. apt must know the architecture (`dpkg --add-architecture arm64 && apt-get update`, as scripts/setup
 * does). The same package version always gives the same files, so outputs stay reproducible.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { MobyError } from '../util/errors.ts';
import { TOOLS } from './catalog.ts';
import { runTool } from './run-tool.ts';

export interface DebFile {
  /** Debian package name, without the architecture. */
  package: string;
  /** Absolute path of the file as the package installs it. */
  path: string;
}

/** The unpacked-package cache: $MOBYTS_CACHE_HOME/debs, else $XDG_CACHE_HOME/mobyts/debs, else ~/.cache/mobyts/debs. */
export function debCacheDir(): string {
  const root = process.env.MOBYTS_CACHE_HOME ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'mobyts');
  return join(root, 'debs');
}

async function candidateVersion(pkg: string, signal?: AbortSignal): Promise<string> {
  const out = await runTool(
    TOOLS.aptCache,
    ['show', '--no-all-versions', pkg],
    signal === undefined ? {} : { signal },
  ).catch(() => ({ stdout: '' }));
  const version = /^Version: (\S+)$/m.exec(out.stdout)?.[1];
  if (version === undefined) {
    const arch = pkg.split(':')[1] ?? '';
    throw new MobyError(`Cannot fetch Debian package "${pkg}": apt knows no such package`, {
      code: 'TOOL_MISSING',
      hint: `let apt list ${arch} packages: dpkg --add-architecture ${arch} && apt-get update (scripts/setup does)`,
    });
  }
  return version;
}

/** Downloads and unpacks `pkg` (PKG:ARCH) at `dest`; a concurrent build doing the same loses the rename harmlessly. */
async function unpack(pkg: string, dest: string, signal?: AbortSignal): Promise<void> {
  const run = signal === undefined ? {} : { signal };
  await mkdir(join(dest, '..'), { recursive: true });
  const work = await mkdtemp(`${dest}.tmp-`);
  try {
    await runTool(TOOLS.aptGet, ['download', pkg], { ...run, cwd: work });
    const deb = (await readdir(work)).find((f) => f.endsWith('.deb'));
    if (deb === undefined)
      throw new MobyError(`Cannot fetch Debian package "${pkg}": apt-get download wrote no .deb`, {
        code: 'TOOL_FAILED',
      });
    await runTool(TOOLS.dpkgDeb, ['-x', join(work, deb), join(work, 'root')], run);
    await rename(join(work, 'root'), dest).catch((err: unknown) => {
      if (!existsSync(dest)) throw err;
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The path of `f` for `arch`: `f.path` itself when it exists on this host, else the file inside the unpacked
 * .deb of `f.package:arch` (downloaded on first use). Rejects TOOL_MISSING when apt cannot name the package and
 * NOT_FOUND when the package does not hold the file.
 */
export async function debFile(
  f: DebFile,
  arch: string,
  opts: { signal?: AbortSignal; onFetch?: (pkg: string) => void } = {},
): Promise<string> {
  if (existsSync(f.path)) return f.path;
  const pkg = `${f.package}:${arch}`;
  const dir = join(
    debCacheDir(),
    arch,
    `${f.package}_${(await candidateVersion(pkg, opts.signal)).replaceAll(':', '%3a')}`,
  );
  if (!existsSync(dir)) {
    opts.onFetch?.(pkg);
    await unpack(pkg, dir, opts.signal);
  }
  const file = join(dir, f.path);
  if (!existsSync(file))
    throw new MobyError(`Cannot use Debian package "${pkg}": it has no ${f.path}`, { code: 'NOT_FOUND' });
  return file;
}
