/**
 * Skipping a build that would write what is already there (docs/formats.md#up-to-date).
 *
 * After a build, a small record (a *stamp*) is kept in the cache: the identity (util/file-identity.ts: device,
 * inode, size, mode, modification and change times in nanoseconds) of everything the build read other than its
 * images — the spec files, the cache's image index, the `files:` sources, the lockfile and the host tools it ran —
 * and of every output it wrote, and which mobyts made it. The same command run again (same arguments, working
 * directory, PATH and SOURCE_DATE_EPOCH, so the same stamp) checks the record before anything else loads: when
 * every input and every output is as recorded, the outputs are what this build would write, and it stops there.
 *
 * Why identities rather than digests: reading the files is the cost being avoided, and any write to a file changes
 * its change time (which no user call can set back) or, through a rename or copy, its inode. What this does not
 * see is what no build sees either: a disk that rots a block under an unchanged file. Identities are taken and
 * records written as util/file-identity.ts says, so that a write in the same tick of the file-time clock as the
 * recorded one cannot go unseen.
 *
 * No stamp is written (so the build is never skipped) when the build depends on something else: a spec from
 * stdin or a URL, `--pull`, `--push`, `--cache-to`, `-o`, `--input-tar`, `--sbom-current-time`, `trust:`
 * (verified against Notary at each build), or `@pkg:` templates (their tags hang on a package directory).
 *
 * The checking half uses nothing but Node's fs and path, synchronously (a few dozen small calls): it runs before
 * the spec parser, the schema validators, the registry client, even `node:crypto`, are loaded.
 */
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileIdentity, latestCtime, settledIdentity } from '../util/file-identity.ts';
import type { BuildOptions } from './options.ts';

/** Bumped whenever what a stamp records, or how it is checked, changes: older stamps are then not trusted. */
const STAMP_FORMAT = 2;

interface Stamp {
  format: number;
  /** The invocation (`invocationOf`), whole: the file name is only a hash of it. */
  key: string;
  /** The mobyts that wrote it (codeIdentity). */
  code: string;
  /** Every input, spec files first; `id` null: the path did not exist (or changed too recently to record). */
  inputs: Array<{ path: string; id: string | null }>;
  outputs: Array<{ path: string; id: string }>;
}

/** The directory of the stamps in the cache `cacheDir`. */
const buildsDir = (cacheDir: string): string => join(cacheDir, '.mobyts', 'builds');

/**
 * Removes every record of past builds from the cache `cacheDir` (`mobyts cache clean`): the stamps, and what each
 * initrd output held (store/output-layouts.ts). The next build of each runs in full and reads its old output.
 */
export function forgetBuilds(cacheDir: string): void {
  rmSync(buildsDir(cacheDir), { recursive: true, force: true });
  rmSync(join(cacheDir, '.mobyts', 'outputs'), { recursive: true, force: true });
}

/** `$LINUXKIT_CACHE`, else `~/.linuxkit/cache` (store/index.ts `defaultCacheDir`, without loading the store). */
function cacheDirOf(opts: BuildOptions): string {
  const fromEnv = process.env['LINUXKIT_CACHE'];
  const dir = opts.cache ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined);
  return dir === undefined ? join(process.env['HOME'] ?? homedir(), '.linuxkit', 'cache') : resolve(dir);
}

const isUrl = (s: string): boolean => /^https?:\/\//i.test(s);

/**
 * 64-bit FNV-1a of `text`, in hex: names a stamp file. Not a digest: the stamp holds the whole key and is used
 * only when that matches exactly; a collision only makes two commands share (and overwrite) one file.
 */
function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) h = ((h ^ BigInt(text.charCodeAt(i))) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, '0');
}

/** What names a build: the arguments, the working directory and the environment that changes its outputs. */
function invocationOf(files: readonly string[], opts: BuildOptions, cacheDir: string): string {
  return JSON.stringify({
    cwd: process.cwd(),
    files: files.map((f) => resolve(f)),
    opts: { ...opts, cache: cacheDir },
    epoch: process.env['SOURCE_DATE_EPOCH'] ?? null,
    // where the formats' host tools are found
    path: process.env['PATH'] ?? null,
  });
}

/** A chunk of the bundle (scripts/build-dist.ts), named after a hash of its content. */
const HASHED_CHUNK = /-[A-Z0-9]{8}\.js$/;

/**
 * Which mobyts is running: its package.json and the name, size and modification time of every file of its code
 * (dist/ as the package ships it, whose chunks are named after their content; src/ in a checkout), so that a
 * changed mobyts never trusts an older stamp.
 */
function codeIdentity(): string {
  const root = fileURLToPath(new URL('../', import.meta.url));
  let pkg = '';
  try {
    pkg = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  } catch {
    // not in a package: the code alone says which mobyts this is
  }
  const names = readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((n) => !n.endsWith('.test.ts'))
    .sort();
  const lines = names.map((n) => {
    if (HASHED_CHUNK.test(n)) return n;
    try {
      const s = statSync(join(root, n));
      return `${n} ${s.size} ${s.mtimeMs}`;
    } catch {
      return n;
    }
  });
  return `${pkg}\n${lines.join('\n')}`;
}

/** The check of one build command: its stamp, and what the inputs checked first were. */
export interface BuildCheck {
  /** The stamp file. */
  stamp: string;
  key: string;
  /** The identities of the spec files as they were when checked, before the build reads them. */
  specs: Array<{ path: string; id: string | null }>;
  /** The outputs, when the build would write them again as they are: it can stop. */
  upToDate?: string[];
}

/**
 * Checks `mobyts build FILES` with `opts` against its stamp; undefined when such a build is never skipped (and
 * gets no stamp). A missing or unreadable stamp is a build like any other.
 */
export function checkBuild(files: readonly string[], opts: BuildOptions): BuildCheck | undefined {
  if (files.length === 0 || files.some((f) => f === '-' || isUrl(f))) return undefined;
  if (opts.pull || opts.dryRun || opts.sbomCurrentTime || opts.output !== undefined) return undefined;
  if (opts.push !== undefined || opts.cacheTo !== undefined || opts.inputTar !== undefined) return undefined;
  const cacheDir = cacheDirOf(opts);
  const key = invocationOf(files, opts, cacheDir);
  const stamp = join(buildsDir(cacheDir), `${fnv1a64(key)}.json`);
  const specs = files.map((f) => ({ path: resolve(f), id: settledIdentity(resolve(f)) }));
  const check: BuildCheck = { stamp, key, specs };
  try {
    const s = JSON.parse(readFileSync(stamp, 'utf8')) as Stamp | null;
    // a record of another shape (damaged, or another format) throws below, or stops here: a build like any other
    if (s?.format !== STAMP_FORMAT || s.key !== key || s.outputs.length === 0) return check;
    // an input recorded as unknown (too recent) exists now, so it differs; one recorded missing must still be
    const same = s.code === codeIdentity() && [...s.inputs, ...s.outputs].every((f) => fileIdentity(f.path) === f.id);
    return same ? { ...check, upToDate: s.outputs.map((o) => o.path) } : check;
  } catch {
    return check;
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
  /** The `files:` sources, resolved (missing optional ones included). */
  sources: readonly string[];
  /** The lockfile of `--locked`. */
  lockfile?: string;
  /** `trust:` or `@pkg:` templates: the build hangs on more than its files, and is never skipped. */
  unstampable: boolean;
}

/**
 * The identities of what the build is about to read, taken now (the spec files' when they were checked, before
 * they were read), so that an input changed while it runs makes the next build run again rather than trust
 * outputs made from the older one. Undefined when this build gets no stamp.
 */
export function watchInputs(check: BuildCheck | undefined, opts: BuildOptions, b: WatchedBuild): Watched | undefined {
  if (check === undefined || b.unstampable) return undefined;
  const index = join(cacheDirOf(opts), 'index.json');
  const paths = [index, ...b.sources, ...(b.lockfile === undefined ? [] : [resolve(b.lockfile)])];
  let code: string;
  let inputs: Stamp['inputs'];
  try {
    code = codeIdentity();
    inputs = paths.map((path) => ({ path, id: settledIdentity(path) }));
  } catch {
    return undefined;
  }
  return {
    record: async ({ outputs, cacheAsBuilt, tools }) => {
      const indexNow = fileIdentity(index);
      if (indexNow !== inputs[0]?.id && (await cacheAsBuilt()) && fileIdentity(index) === indexNow)
        inputs[0] = { path: index, id: indexNow };
      for (const path of tools) inputs.push({ path, id: fileIdentity(path) });
      const written: Stamp['outputs'] = [];
      for (const path of outputs) {
        const id = fileIdentity(path);
        if (id === null) return;
        written.push({ path: resolve(path), id });
      }
      const all = [...check.specs, ...inputs];
      const record: Stamp = { format: STAMP_FORMAT, key: check.key, code, inputs: all, outputs: written };
      // the writing half loads what it needs once the build is done
      const { writeRecordAfterTick } = await import('../util/atomic.ts');
      await writeRecordAfterTick(
        check.stamp,
        JSON.stringify(record),
        latestCtime([...all, ...written].map((f) => f.id)),
      );
    },
  };
}
