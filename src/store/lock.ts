/**
 * Cross-process locks for the cache: a lock file created with O_EXCL holding `pid host time`. A lock whose
 * holder is a dead process on this host, or (from another host) older than `staleMs`, is broken. LinuxKit serialises with
 * `flock(<cache>/.lock)` instead; the two do not see each other's locks, but both replace `index.json` by
 * rename, so a reader of either never sees a torn file (an update racing the other tool may be lost).
 *
 * Within one process, callers of the same lock queue in order on a promise instead of polling the file: a build
 * resolves its images in parallel and each takes the index lock, and polling with back-off left the process
 * idle for tens of milliseconds between holders. Only the head of the queue competes for the file.
 */
import { closeSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, rename, stat } from 'node:fs/promises';
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

/** This process's waiters for each lock path: the promise the last one in the queue resolves when it leaves. */
const queues = new Map<string, Promise<void>>();

function heldTooLong(path: string): MobyError {
  return new MobyError(`Cannot lock "${path}": another process has held it for too long`, {
    code: 'LOCK',
    hint: 'wait for the other build to finish; if none is running, delete the lock file',
  });
}

/** Waits for `before` (the previous in-process holder leaving) until `deadline`; throws on timeout or abort. */
async function waitTurn(before: Promise<void>, path: string, deadline: number, signal?: AbortSignal): Promise<void> {
  const stop = new AbortController();
  const abort = (): void => stop.abort();
  signal?.addEventListener('abort', abort, { once: true });
  try {
    const timer = delay(Math.max(0, deadline - Date.now()), 'timeout' as const, { signal: stop.signal });
    const won = await Promise.race([before.then(() => 'turn' as const), timer.catch(() => 'aborted' as const)]);
    if (won === 'timeout') throw heldTooLong(path);
    if (won === 'aborted') signal?.throwIfAborted();
  } finally {
    stop.abort();
    signal?.removeEventListener('abort', abort);
  }
}

/** Takes the lock at `path`; resolves with its release function. The lock is released even if release throws. */
export async function acquireLock(path: string, opts: LockOptions = {}): Promise<() => Promise<void>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const before = queues.get(path);
  let done = (): void => {};
  const mine = new Promise<void>((resolve) => (done = resolve));
  const tail = (before ?? Promise.resolve()).then(() => mine);
  queues.set(path, tail);
  const leave = (): void => {
    done();
    if (queues.get(path) === tail) queues.delete(path);
  };
  try {
    if (before !== undefined) await waitTurn(before, path, deadline, opts.signal);
    const release = await acquireFileLock(path, deadline, opts);
    return () => release().finally(leave);
  } catch (err) {
    leave();
    throw err;
  }
}

async function acquireFileLock(path: string, deadline: number, opts: LockOptions): Promise<() => Promise<void>> {
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    opts.signal?.throwIfAborted();
    // the lock file is made and removed with synchronous calls: a build takes the index lock once for each image
    // it opens, and a trip through the thread pool costs ten times the call (store/layout.ts)
    let fd: number | undefined;
    try {
      fd = openSync(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw cacheWriteError(`create the lock "${path}"`, err);
    }
    if (fd !== undefined) {
      try {
        writeFileSync(fd, `${process.pid} ${hostname()} ${Date.now()}\n`);
      } catch (err) {
        // a lock file without its holder (a full disk) would look held to everyone: remove it
        closeSync(fd);
        removeLockFile(path);
        throw cacheWriteError(`create the lock "${path}"`, err);
      }
      closeSync(fd);
      return () => {
        removeLockFile(path);
        return Promise.resolve();
      };
    }
    if (await isStale(path, opts.staleMs ?? 10 * 60_000)) {
      await rename(path, `${path}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`).then(
        (_) => undefined,
        () => undefined,
      );
      continue;
    }
    if (Date.now() > deadline) throw heldTooLong(path);
    await delay(wait, undefined, opts.signal === undefined ? undefined : { signal: opts.signal });
  }
}

/** Removes a lock file; one that cannot be removed is broken by the next taker once this process is gone. */
function removeLockFile(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // left behind (see above)
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
