/**
 * Build work directories under the cache directory (`<cache>/.mobyts/work/<pid>-<start>-<random>`), never in
 * TMPDIR: a build's spooled modules tar, segment cpios and staged format trees live there. The name is the
 * owner lock: the owning process's pid and its start time (`/proc/<pid>/stat` field 22, so a reused pid is
 * not mistaken for the owner). A build removes its own directory when it ends; one killed with SIGKILL (CI
 * timeout, OOM killer) leaves it, and the next build in the same cache sweeps every directory whose owner
 * is gone. When the cache directory cannot be written, the work directory falls back to TMPDIR, as before.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Reporter } from '../util/reporter.ts';
import { ownerGone, ownerStamp } from '../util/process.ts';

const NAME = /^(\d+)-(\d+)-[0-9a-f]{12}$/;

/** Where the work directories of the cache `cacheDir` live. */
export function workArea(cacheDir: string): string {
  return join(cacheDir, '.mobyts', 'work');
}

/** Whether the owner named by a work directory is still running (unknown names count as running). */
function ownerRunning(name: string): boolean {
  const m = NAME.exec(name);
  return m === null || !ownerGone(Number(m[1]), Number(m[2]));
}

/** Removes the work directories whose owner is gone; returns their names. */
export async function sweepWork(cacheDir: string): Promise<string[]> {
  const area = workArea(cacheDir);
  const gone = (await readdir(area).catch(() => [] as string[])).filter((n) => !ownerRunning(n));
  for (const n of gone) await rm(join(area, n), { recursive: true, force: true }).catch(() => {});
  return gone;
}

export interface WorkDir {
  readonly path: string;
  /** Removes the directory and everything in it. */
  remove(): Promise<void>;
}

/**
 * A fresh work directory for this process under `cacheDir` (sweeping what killed builds left there), or in
 * TMPDIR when the cache directory cannot be written.
 */
export async function openWorkDir(cacheDir: string, reporter: Reporter): Promise<WorkDir> {
  const area = workArea(cacheDir);
  try {
    await mkdir(area, { recursive: true });
    const swept = await sweepWork(cacheDir);
    if (swept.length > 0)
      reporter.emit({
        type: 'debug',
        message: `Removed ${swept.length} work director${swept.length === 1 ? 'y' : 'ies'} left by killed builds in "${area}"`,
      });
    const path = join(area, `${ownerStamp()}-${randomBytes(6).toString('hex')}`);
    await mkdir(path);
    return { path, remove: () => rm(path, { recursive: true, force: true }) };
  } catch {
    const path = await mkdtemp(join(tmpdir(), 'mobyts-build-'));
    reporter.emit({ type: 'debug', message: `Cannot write "${area}": work files go to "${path}"` });
    return { path, remove: () => rm(path, { recursive: true, force: true }) };
  }
}
