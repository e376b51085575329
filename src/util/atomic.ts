/**
 * Every output is written under a temporary name beside its destination and renamed into place only when
 * complete (docs/architecture.md#atomic-outputs), so a failed or interrupted build never leaves a partial output file.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { chmod, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errnoText, isMobyError, MobyError } from './errors.ts';
import { ownerGone, ownerStamp } from './process.ts';

/**
 * A file-system failure as a user-facing error (`Cannot write "out/x.tar": ENOSPC: no space left on device`,
 * the system error kept as its cause, and for a full disk or quota a hint); MobyErrors and aborts pass through
 * unchanged.
 */
export function asIoError(action: string, path: string, err: unknown): unknown {
  if (isMobyError(err) || (err as { name?: string } | null)?.name === 'AbortError') return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === undefined) return err;
  return new MobyError(`Cannot ${action} "${path}": ${errnoText(err) ?? code}`, {
    code: 'IO',
    cause: err,
    ...(code === 'ENOSPC' || code === 'EDQUOT'
      ? { hint: 'free space on that file system and run again; nothing partial was kept' }
      : {}),
  });
}

/**
 * `<dir>/.<base>.tmp-<pid>-<start>-<random>`: hidden, same directory (so rename is atomic), unique per call, and
 * naming its owner (util/process.ts `ownerStamp`), so that what a killed process left can be told from what a
 * running one is writing (`sweepTemps`).
 */
export function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${ownerStamp()}-${randomBytes(6).toString('hex')}`);
}

const TEMP = /^\.(.+)\.tmp-(\d+)-(\d+)-[0-9a-f]{12}$/;

/**
 * Removes the temporary files (`tempNameFor`) of the destinations `paths` whose owner is gone: what a build
 * killed with SIGKILL while it wrote them left beside its outputs. Returns the files removed. A directory that
 * cannot be read is skipped.
 */
export async function sweepTemps(paths: readonly string[]): Promise<string[]> {
  const byDir = new Map<string, Set<string>>();
  for (const p of paths) byDir.set(dirname(p), (byDir.get(dirname(p)) ?? new Set()).add(basename(p)));
  const removed: string[] = [];
  for (const [dir, names] of byDir) {
    for (const n of await readdir(dir).catch(() => [] as string[])) {
      const m = TEMP.exec(n);
      if (m === null || !names.has(m[1] ?? '') || !ownerGone(Number(m[2]), Number(m[3]))) continue;
      await rm(join(dir, n), { force: true, recursive: true }).catch(() => {});
      removed.push(join(dir, n));
    }
  }
  return removed;
}

/**
 * Calls `fn` with a temporary path beside `path`; when `fn` resolves, sets `mode` (default 0644, whatever the
 * umask) and renames the file to `path`. When `fn` rejects, the temporary file is removed and the error
 * rethrown; `path` is untouched. `fn` must create the file (it does not exist yet).
 */
export async function writeAtomically(
  path: string,
  fn: (tempPath: string) => Promise<void>,
  mode = 0o644,
): Promise<void> {
  const temp = tempNameFor(path);
  try {
    await fn(temp);
    await chmod(temp, mode);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true, recursive: true });
    throw asIoError('write', path, err);
  }
}

/** Writes a stream to `path` atomically (drains `data`; destroys it on failure or abort). */
export function writeStreamAtomically(
  path: string,
  data: Readable,
  opts: { mode?: number; signal?: AbortSignal } = {},
): Promise<void> {
  return writeAtomically(
    path,
    (temp) => pipeline(data, createWriteStream(temp, { flags: 'wx' }), { signal: opts.signal }),
    opts.mode,
  );
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Writes the record `data` to `file` (a temporary file beside it, renamed; what a killed writer left is swept
 * first) once the file-time clock has moved past `latestNs`, the latest change time of the identities it holds
 * (util/file-identity.ts): the temporary file is rewritten every 2 ms until its own change time is later. So a
 * write to any recorded file after the record exists changes its identity. On a filesystem whose clock does not
 * move within 100 ms (one-second times), nothing is written and an error thrown: such a record could not be
 * trusted. Small files: synchronous calls.
 */
export async function writeRecordAfterTick(file: string, data: string, latestNs: bigint): Promise<void> {
  mkdirSync(dirname(file), { recursive: true });
  await sweepTemps([file]);
  const temp = tempNameFor(file);
  try {
    for (let i = 0; ; i++) {
      writeFileSync(temp, data);
      if (statSync(temp, { bigint: true }).ctimeNs > latestNs) break;
      if (i >= 50) throw new Error(`the file times of ${file} do not move within 100 ms: not recorded`);
      await sleep(2);
    }
    renameSync(temp, file);
  } finally {
    rmSync(temp, { force: true });
  }
}
