/**
 * Cross-process locks for the cache: a lock file created with O_EXCL holding `pid host time`. A lock whose
 * holder is a dead process on this host, or (from another host) older than `staleMs`, is broken. LinuxKit serialises with
 * `flock(<cache>/.lock)` instead; the two do not see each other's locks, but both replace `index.json` by
 * rename, so a reader of either never sees a torn file (an update racing the other tool may be lost).
 */
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { MobyError } from '../util/errors.ts';
import { cacheWriteError } from './io-error.ts';
import { processAlive } from '../util/process.ts';

export interface LockOptions {
  /** Give up after this long (LOCK error). */
  timeoutMs?: number;
  /** Break locks from other hosts older than this. */
  staleMs?: number;
  signal?: AbortSignal;
}

/** Takes the lock at `path`; resolves with its release function. The lock is released even if release throws. */
export async function acquireLock(path: string, opts: LockOptions = {}): Promise<() => Promise<void>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    opts.signal?.throwIfAborted();
    let fh;
    try {
      fh = await open(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw cacheWriteError(`create the lock "${path}"`, err);
    }
    if (fh !== undefined) {
      try {
        await fh.writeFile(`${process.pid} ${hostname()} ${Date.now()}\n`);
        await fh.close();
      } catch (err) {
        // a lock file without its holder (a full disk) would look held to everyone: remove it
        await fh.close().catch(() => undefined);
        await unlink(path).catch(() => undefined);
        throw cacheWriteError(`create the lock "${path}"`, err);
      }
      return () => unlink(path).catch(() => undefined);
    }
    if (await isStale(path, opts.staleMs ?? 10 * 60_000)) {
      await rename(path, `${path}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`).then(
        (_) => undefined,
        () => undefined,
      );
      continue;
    }
    if (Date.now() > deadline) {
      throw new MobyError(`Cannot lock "${path}": another process has held it for too long`, {
        code: 'LOCK',
        hint: 'wait for the other build to finish; if none is running, delete the lock file',
      });
    }
    await delay(wait, undefined, opts.signal === undefined ? undefined : { signal: opts.signal });
  }
}

async function isStale(path: string, staleMs: number): Promise<boolean> {
  try {
    const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    const [pid, host] = text.trim().split(' ');
    // on this host the holder's pid is the truth (a slow download may hold a blob lock for long);
    // a lock from another host (shared NFS cache) can only be judged by its age
    if (pid !== undefined && host === hostname()) return !processAlive(Number(pid));
    return Date.now() - st.mtimeMs > staleMs;
  } catch {
    return false; // vanished or half-written: retry normally
  }
}

/** Runs `fn` holding the lock at `path`. */
export async function withLock<T>(path: string, fn: () => Promise<T>, opts?: LockOptions): Promise<T> {
  const release = await acquireLock(path, opts);
  try {
    return await fn();
  } finally {
    await release();
  }
}
