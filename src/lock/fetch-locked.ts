/**
 * The one call a locked build makes per image: pin from the lock, fetch by digest (never by tag) through the
 * store, and check the platform manifest is the locked one.
 */
import type { Reference } from '../oci/reference.ts';
import type { ImageSource } from '../image/source.ts';
import type { GetImageOptions } from '../store/types.ts';
import type { TrustSpec } from '../spec/types.ts';
import { isTrusted, warnTrustDisabled } from '../trust/verify.ts';
import type { Reporter } from '../util/reporter.ts';
import { MobyError } from '../util/errors.ts';
import { checkLockedSource, pinFromLock, type LoadedLock, type LockPin } from './pin.ts';

export interface LockedTrustOptions {
  /** The spec's `trust:`; with it, an image it covers must have been locked as verified (or by digest). */
  trust?: TrustSpec | undefined;
  disableContentTrust?: boolean;
  reporter: Reporter;
}

/**
 * Refuses a locked image the spec's `trust:` covers when the lock did not verify it (locked with
 * --disable-content-trust, or before it was added to `trust:`); with --disable-content-trust only warns.
 */
export function checkLockedTrust(pin: { trust: string }, ref: Reference, opts: LockedTrustOptions, file: string): void {
  if (!isTrusted(ref, opts.trust) || pin.trust === 'verified' || pin.trust === 'digest') return;
  if (opts.disableContentTrust === true) {
    warnTrustDisabled(ref, opts.reporter);
    return;
  }
  throw new MobyError(
    `Cannot use locked image "${ref.expanded}" from "${file}": it is in trust: but the lock has it as trust "${pin.trust}", not verified`,
    {
      code: 'TRUST',
      hint: 'run `mobyts lock` again without --disable-content-trust, or build with --disable-content-trust',
    },
  );
}

/**
 * The image `ref` (expanded spec reference) was locked to, for `arch`. Throws a MobyError (LOCK) naming the
 * lockfile and the pinned digest when the lock lacks the image or the registry no longer has that digest;
 * with `opts.trust` (the spec's `trust:`), also applies checkLockedTrust (TRUST) before fetching.
 */
export async function getLockedImage<S extends ImageSource>(
  store: { getImage(ref: Reference, opts: GetImageOptions): Promise<S> },
  lock: LoadedLock,
  ref: Reference,
  opts: GetImageOptions & { arch: string } & Partial<Omit<LockedTrustOptions, 'reporter'>>,
): Promise<{ source: S; pin: LockPin }> {
  const pin = pinFromLock(lock, ref, opts.arch);
  if (opts.trust !== undefined)
    checkLockedTrust(
      pin,
      ref,
      { trust: opts.trust, disableContentTrust: opts.disableContentTrust === true, reporter: opts.reporter },
      lock.file,
    );
  let source: S;
  try {
    source = await store.getImage(pin.ref, { ...opts, pull: false });
  } catch (err) {
    throw new MobyError(`Cannot fetch locked image "${pin.ref.expanded}" (pinned by "${lock.file}")`, {
      code: 'LOCK',
      cause: err,
      hint: 'the registry no longer serves the locked digest: restore it, or run `mobyts lock` again to pin what it serves now',
    });
  }
  checkLockedSource(pin, source);
  return { source, pin };
}
