/**
 * Every output is written under a temporary name beside its destination and renamed into place only when
 * complete (docs/architecture.md#atomic-outputs), so a failed or interrupted build never leaves a partial output file.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errnoText, isMobyError, MobyError } from './errors.ts';

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

/** `<dir>/.<base>.tmp-<random>`: hidden, same directory (so rename is atomic), unique per call. */
export function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${randomBytes(6).toString('hex')}`);
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
