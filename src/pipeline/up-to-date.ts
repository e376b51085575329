/**
 * Skipping a build that would write what is already there (docs/formats.md#up-to-date).
 *
 * After a build, a small record (a *stamp*) is kept in the cache: what the build read (each spec file's text by
 * its SHA-256; the cache's image index, the `files:` sources, the lockfile and the host tools it ran by their
 * identity: device, inode, size, mode, modification and change times in nanoseconds), which mobyts made it, and
 * the identity of every output it wrote. The same command run again (same arguments, working directory, PATH and
 * SOURCE_DATE_EPOCH, so the same stamp) checks the record before anything else loads: when every input and every
 * output is as recorded, the outputs are what this build would write, and it stops there.
 *
 * Identities are taken and records written as util/file-identity.ts says, so that a write in the same tick of the
 * file-time clock as the recorded one cannot go unseen.
 *
 * Why identities rather than digests for outputs and inputs: reading them is the cost being avoided, and any
 * write to a file changes its change time (which no user call can set back) or, through a rename or copy, its
 * inode. What this does not see is what no build sees either: a disk that rots a block under an unchanged file.
 *
 * No stamp is written (so the build is never skipped) when the build depends on something else: a spec from
 * stdin or a URL, `--pull`, `--push`, `--cache-to`, `-o`, `--input-tar`, `--sbom-current-time`, `trust:`
 * (verified against Notary at each build), or `@pkg:` templates (their tags hang on a package directory).
 *
 * The checking half loads nothing but Node's fs, path and crypto: it runs before the spec parser, the schema
 * validators and the registry client are read.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sweepTemps, tempNameFor } from '../util/atomic.ts';
import { fileIdentity, latestCtime, recordAfterTick, settledIdentity } from '../util/file-identity.ts';
import type { BuildOptions } from './options.ts';

/** Bumped whenever what a stamp records, or how it is checked, changes: older stamps are then not trusted. */
const STAMP_FORMAT = 1;

interface Stamp {
  format: number;
  /** The mobyts that wrote it (codeIdentity). */
  code: string;
  specs: Array<{ path: string; sha256: string }>;
  /** Inputs other than the specs; `id` null: the path did not exist. */
  inputs: Array<{ path: string; id: string | null }>;
  outputs: Array<{ path: string; id: string }>;
}

/** The directory of the stamps in the cache `cacheDir`. */
const buildsDir = (cacheDir: string): string => join(cacheDir, '.mobyts', 'builds');

/**
 * Removes every record of past builds from the cache `cacheDir` (`mobyts cache clean`): the stamps, and what each
 * initrd output held (store/output-layouts.ts). The next build of each runs in full and reads its old output.
 */
export async function forgetBuilds(cacheDir: string): Promise<void> {
  await rm(buildsDir(cacheDir), { recursive: true, force: true });
  await rm(join(cacheDir, '.mobyts', 'outputs'), { recursive: true, force: true });
}

/** `$LINUXKIT_CACHE`, else `~/.linuxkit/cache` (store/index.ts `defaultCacheDir`, without loading the store). */
function cacheDirOf(opts: BuildOptions): string {
  const fromEnv = process.env['LINUXKIT_CACHE'];
  const dir = opts.cache ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined);
  return dir === undefined ? join(process.env['HOME'] ?? homedir(), '.linuxkit', 'cache') : resolve(dir);
}

const isUrl = (s: string): boolean => /^https?:\/\//i.test(s);

/** Where the stamp of `mobyts build FILES` with `opts` lives; undefined when such a build is never skipped. */
export function stampPath(files: readonly string[], opts: BuildOptions): string | undefined {
  if (files.length === 0 || files.some((f) => f === '-' || isUrl(f))) return undefined;
  if (opts.pull || opts.dryRun || opts.sbomCurrentTime || opts.output !== undefined) return undefined;
  if (opts.push !== undefined || opts.cacheTo !== undefined || opts.inputTar !== undefined) return undefined;
  const cacheDir = cacheDirOf(opts);
  const key = createHash('sha256')
    .update(
      JSON.stringify({
        cwd: process.cwd(),
        files: files.map((f) => resolve(f)),
        opts: { ...opts, cache: cacheDir },
        epoch: process.env['SOURCE_DATE_EPOCH'] ?? null,
        // where the formats' host tools are found
        path: process.env['PATH'] ?? null,
      }),
    )
    .digest('hex');
  return join(buildsDir(cacheDir), `${key}.json`);
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A chunk of the bundle (scripts/build-dist.ts), named after a hash of its content. */
const HASHED_CHUNK = /-[A-Z0-9]{8}\.js$/;

/**
 * Which mobyts is running: its version and the name, size and modification time of every file of its code
 * (dist/ as the package ships it, src/ in a checkout), so that a changed mobyts never trusts an older stamp.
 */
async function codeIdentity(): Promise<string> {
  const root = fileURLToPath(new URL('../', import.meta.url));
  const pkg = await readFile(new URL('../../package.json', import.meta.url), 'utf8').catch(() => '');
  const names = (await readdir(root, { recursive: true })).filter((n) => !n.endsWith('.test.ts')).sort();
  const h = createHash('sha256').update(pkg);
  // the bundle's chunks are named after their content (`build-FHRGLFGX.js`): their names say enough
  const stats = await Promise.all(
    names.map((n) => (HASHED_CHUNK.test(n) ? Promise.resolve(undefined) : stat(join(root, n)).catch(() => undefined))),
  );
  for (const [i, n] of names.entries()) {
    const s = stats[i];
    h.update(s === undefined ? `${n}\n` : `${n}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return h.digest('hex');
}

/**
 * The output paths of the build `stamp` recorded when it would write them again as they are (every spec's
 * text, every input and output identical, the same mobyts); otherwise undefined. A missing or unreadable stamp
 * is a build like any other.
 */
export async function upToDate(stamp: string): Promise<string[] | undefined> {
  try {
    const s = JSON.parse(await readFile(stamp, 'utf8')) as Stamp | null;
    // a record of another shape (damaged, or another format) throws below, or stops here: a build like any other
    if (s?.format !== STAMP_FORMAT || s.outputs.length === 0) return undefined;
    const same = await Promise.all([
      codeIdentity().then((c) => c === s.code),
      ...s.specs.map(async (f) => sha256(await readFile(f.path, 'utf8')) === f.sha256),
      ...[...s.inputs, ...s.outputs].map(async (f) => (await fileIdentity(f.path)) === f.id),
    ]);
    return same.every(Boolean) ? s.outputs.map((o) => o.path) : undefined;
  } catch {
    return undefined;
  }
}

/** What a build read, taken before it reads it (`watchInputs`); `record` writes the stamp once it succeeded. */
export interface Watched {
  /** Writes the stamp of the build that succeeded (`BuildDone`). */
  record(done: BuildDone): Promise<void>;
}

/** What a build that succeeded tells its stamp. */
export interface BuildDone {
  /** The files it wrote. */
  outputs: readonly string[];
  /**
   * Whether the image cache still gives every image the manifest the build used: then its index is recorded as
   * it is now (a build that pulled has changed it), else as it was before the build, so that the next build
   * runs in full.
   */
  cacheAsBuilt: () => Promise<boolean>;
  /** The host tools it ran (absolute paths): an upgraded tool builds again. */
  tools: readonly string[];
}

export interface WatchedBuild {
  /** Each spec file as given and the text the build read from it. */
  specs: ReadonlyArray<{ path: string; text: string }>;
  /** The `files:` sources, resolved (missing optional ones included). */
  sources: readonly string[];
  /** The lockfile of `--locked`. */
  lockfile?: string;
  /** `trust:` or `@pkg:` templates: the build hangs on more than its files, and is never skipped. */
  unstampable: boolean;
}

/**
 * The identities of what the build is about to read, taken now, so that an input changed while it runs makes
 * the next build run again rather than trust outputs made from the older one. Undefined when this build gets no
 * stamp.
 */
export async function watchInputs(
  stamp: string | undefined,
  opts: BuildOptions,
  b: WatchedBuild,
): Promise<Watched | undefined> {
  if (stamp === undefined || b.unstampable) return undefined;
  const index = join(cacheDirOf(opts), 'index.json');
  const paths = [index, ...b.sources, ...(b.lockfile === undefined ? [] : [resolve(b.lockfile)])];
  const taken = await Promise.all([codeIdentity(), ...paths.map(settledIdentity)]).catch(() => undefined);
  if (taken === undefined) return undefined;
  const [code, ...ids] = taken;
  const specs = b.specs.map((f) => ({ path: resolve(f.path), sha256: sha256(f.text) }));
  const inputs = paths.map((path, i) => ({ path, id: ids[i] ?? null }));
  return {
    record: async ({ outputs, cacheAsBuilt, tools }) => {
      const indexNow = await fileIdentity(index);
      if (indexNow !== inputs[0]?.id && (await cacheAsBuilt()) && (await fileIdentity(index)) === indexNow)
        inputs[0] = { path: index, id: indexNow };
      for (const path of tools) inputs.push({ path, id: await fileIdentity(path) });
      const ids = await Promise.all(outputs.map(fileIdentity));
      const written: Stamp['outputs'] = [];
      for (const [i, path] of outputs.entries()) {
        const id = ids[i];
        if (id === null || id === undefined) return;
        written.push({ path: resolve(path), id });
      }
      const record: Stamp = { format: STAMP_FORMAT, code: code ?? '', specs, inputs, outputs: written };
      await mkdir(dirname(stamp), { recursive: true });
      await sweepTemps([stamp]);
      const temp = tempNameFor(stamp);
      const latest = latestCtime([...inputs, ...written].map((f) => f.id));
      try {
        await recordAfterTick(stamp, temp, JSON.stringify(record), latest);
      } finally {
        await rm(temp, { force: true });
      }
    },
  };
}
