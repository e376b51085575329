/** How the store reports a failed write to the cache directory (a full disk above all). */
import { errnoText, isMobyError, MobyError } from '../util/errors.ts';

/**
 * A file-system failure while writing the cache (a full disk: `ENOSPC: no space left on device`) as a
 * user-facing error naming what was written where; MobyErrors and aborts pass through.
 */
export function cacheWriteError(what: string, err: unknown): unknown {
  if (isMobyError(err) || (err as { name?: string } | null)?.name === 'AbortError') return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === undefined) return err;
  const detail = errnoText(err) ?? code;
  return new MobyError(`Cannot ${what}: ${detail}`, {
    code: 'IO',
    cause: err,
    ...(code === 'ENOSPC' || code === 'EDQUOT'
      ? {
          hint: 'free space on that file system (or use --cache on another one) and run again; nothing partial was kept in the cache',
        }
      : {}),
  });
}
