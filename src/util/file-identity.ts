/**
 * A file's identity: device, inode, size, mode, and modification and change times to the nanosecond. Two equal
 * identities are the same file, unwritten between them: every write changes the change time, which no program
 * can set back, and a copy or rename changes the inode. What a build wrote and recorded can therefore be taken
 * as those bytes later without reading them (docs/formats.md#up-to-date).
 *
 * One caveat, the one git calls "racy": the kernel stamps files from a clock that ticks every few milliseconds,
 * so a second write within the tick of the first leaves both times as they were. Hence a record of identities is
 * written only once the clock has moved past every time it holds (util/atomic.ts `writeRecordAfterTick`), so any
 * later write to those files gets a later time; and an identity whose time is the current tick is not recorded.
 */
import { statSync, type BigIntStats } from 'node:fs';

// Synchronous calls on small files throughout: the check that skips a build with nothing changed runs before
// anything else loads (src/pipeline/up-to-date.ts), and a stat through the thread pool costs ten times the call.

export function identityOf(s: BigIntStats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}:${s.mode}`;
}

/** The identity of `path`, following links; null when it does not exist. Other errors are thrown. */
export function fileIdentity(path: string): string | null {
  try {
    return identityOf(statSync(path, { bigint: true }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Longest a file-time tick may take (HZ=100); beyond it a time is surely in the past. */
const TICK_NS = 20_000_000n;

/**
 * The identity of `path` for a record taken now, before a build reads the file: null (never equal to a later
 * identity) when its change time is so recent that a write in the same tick could follow unseen.
 */
export function settledIdentity(path: string): string | null {
  try {
    const s = statSync(path, { bigint: true });
    return s.ctimeNs + TICK_NS > BigInt(Date.now()) * 1_000_000n ? null : identityOf(s);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The change time (ns) an identity holds; 0 for none. */
export function identityCtime(id: string | null): bigint {
  const ctime = id?.split(':')[4];
  return ctime === undefined ? 0n : BigInt(ctime);
}

/** The latest change time among `ids`. */
export function latestCtime(ids: ReadonlyArray<string | null>): bigint {
  return ids.reduce((m, id) => (identityCtime(id) > m ? identityCtime(id) : m), 0n);
}
