/** Facts about other processes of this machine. */
import { readFileSync } from 'node:fs';

/**
 * Whether process `pid` is running (signal 0 reaches it, or it exists but belongs to another user). A pid that
 * is not a positive integer is never running.
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The start time of process `pid` in clock ticks since boot, 0 when it is unknown (no /proc), undefined when it is not running. */
export function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return processAlive(pid) ? 0 : undefined;
    return 0;
  }
}

/** `<pid>-<start>` of this process: names that say whose a file is (`ownerGone` reads them back). */
export function ownerStamp(): string {
  return `${process.pid}-${processStart(process.pid) ?? 0}`;
}

/**
 * Whether the owner `pid` started at `start` (an `ownerStamp`) is gone: not running, or its pid now belongs to
 * a process that started at another time. An unknown start time (no /proc) counts as running.
 */
export function ownerGone(pid: number, start: number): boolean {
  const now = processStart(pid);
  if (now === undefined) return true;
  return now !== 0 && now !== start;
}
