/** `build --cache-from/--cache-to` → the section cache a build uses (docs/scale.md#remote-cache). */
import type { SegmentCache } from '../initrd/segments.ts';
import type { RegistryOptions } from '../store/types.ts';
import { MobyError } from '../util/errors.ts';
import type { Reporter } from '../util/reporter.ts';
import { parseCacheFlag, RemoteSectionCache } from './section-cache.ts';

export interface RemoteCacheFlags {
  local: SegmentCache | undefined;
  cacheDir: string;
  from: string[];
  to: string | undefined;
  registry: RegistryOptions;
  reporter: Reporter;
  signal: AbortSignal;
}

/** The remote cache in front of the local one; undefined without --cache-from/--cache-to (or without a local one to fill). */
export function remoteSectionCache(
  f: RemoteCacheFlags,
): (RemoteSectionCache & { exportTo(): Promise<void> }) | undefined {
  const from = f.from.map((v) => parseCacheFlag('--cache-from', v));
  const to = f.to === undefined ? undefined : parseCacheFlag('--cache-to', f.to);
  if (from.length === 0 && to === undefined) return undefined;
  if (f.local === undefined) {
    f.reporter.emit({
      type: 'warn',
      message: `The cache directory "${f.cacheDir}" cannot hold sections: --cache-from/--cache-to are ignored`,
    });
    return undefined;
  }
  const cache = new RemoteSectionCache({
    local: f.local,
    cacheDir: f.cacheDir,
    from,
    to,
    registry: f.registry,
    reporter: f.reporter,
    signal: f.signal,
  });
  return Object.assign(cache, {
    exportTo: async (): Promise<void> => {
      try {
        await cache.export();
      } catch (err) {
        throw new MobyError(`The outputs are written, but pushing the sections to ${to?.expanded ?? ''} failed`, {
          code: 'REGISTRY',
          cause: err,
          hint: 'the next build with --cache-to pushes them again',
        });
      }
    },
  });
}
