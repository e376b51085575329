/**
 * Pushes a built package from the store to its registry: every layer, the config, the platform manifest (by
 * digest) and the index under the tag (registry/push-image.ts; blobs the registry has are skipped).
 */
import type { Digest } from '../oci/digest.ts';
import { parseReference } from '../oci/reference.ts';
import { pushCachedImage } from '../registry/push-image.ts';
import type { ImageStore } from '../store/index.ts';
import type { RegistryOptions } from '../store/types.ts';
import { MobyError } from '../util/errors.ts';
import type { Reporter } from '../util/reporter.ts';

/** Pushes `ref` (as named in the store) to `pushAs` (default: the same name). Resolves with the index digest. */
export async function pushPackage(
  store: ImageStore,
  ref: string,
  opts: { registry: RegistryOptions; pushAs?: string; signal?: AbortSignal; reporter: Reporter },
): Promise<Digest> {
  const target = parseReference(opts.pushAs ?? ref);
  const name = parseReference(ref).expanded;
  const root = await store.getRef(name);
  if (root === undefined) throw new MobyError(`Cannot push "${ref}": it is not in the store`, { code: 'NOT_FOUND' });
  const pushed = await pushCachedImage(store.layout, name, root, target, {
    registry: opts.registry,
    reporter: opts.reporter,
    override: true,
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  return pushed.digest;
}
