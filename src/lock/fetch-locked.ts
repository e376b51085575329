/**
 * The one call a locked build makes per image: pin from the lock, fetch by digest (never by tag) through the
 * store, and check the platform manifest is the locked one.
 */
import type { Reference } from '../oci/reference.ts';
import type { ImageSource } from '../image/source.ts';
import type { GetImageOptions } from '../store/types.ts';
import { isMobyError, MobyError } from '../util/errors.ts';
import { checkLockedSource, pinFromLock, type LoadedLock, type LockPin } from './pin.ts';

/**
 * The image `ref` (expanded spec reference) was locked to, for `arch`. Throws a MobyError (LOCK) naming the
 * lockfile and the pinned digest when the lock lacks the image or the registry no longer has that digest.
 */
export async function getLockedImage<S extends ImageSource>(
  store: { getImage(ref: Reference, opts: GetImageOptions): Promise<S> },
  lock: LoadedLock, ref: Reference, opts: GetImageOptions & { arch: string },
): Promise<{ source: S; pin: LockPin }> {
  const pin = pinFromLock(lock, ref, opts.arch);
  let source: S;
  try {
    source = await store.getImage(pin.ref, { ...opts, pull: false });
  } catch (err) {
    const detail = isMobyError(err) || err instanceof Error ? err.message : String(err);
    throw new MobyError(`Cannot fetch locked image "${pin.ref.expanded}" (pinned by "${lock.file}"): ${detail}`, {
      code: 'LOCK', cause: err, hint: 'the registry no longer serves the locked digest: restore it, or run `mobyts lock` again to pin what it serves now',
    });
  }
  checkLockedSource(pin, source);
  return { source, pin };
}
