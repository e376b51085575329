/** Facts about other processes of this machine. */

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
