/**
 * `mobyts cache export --format filesystem` (docs/linuxkit-behaviour.md#cache-cmd): the platform's image from the
 * cache flattened into one filesystem tar (whiteouts applied), as a build unpacks it.
 */
import type { Writable } from 'node:stream';
import type { Reference } from '../oci/reference.ts';
import type { Descriptor, Platform } from '../oci/types.ts';
import { sourceFromCache } from '../store/cached.ts';
import type { Layout } from '../store/layout.ts';
import { formatPlatform } from '../store/platform.ts';
import { writeTar } from '../tar/write.ts';
import { MobyError } from '../util/errors.ts';
import type { Reporter } from '../util/reporter.ts';
import { flattenImage } from './flatten.ts';

/** Writes the image `ref` (cached as `root`) for `platform` as one flattened filesystem tar. */
export async function exportFilesystem(
  layout: Layout,
  ref: Reference,
  root: Descriptor,
  a: { platform: Platform; out: Writable; reporter: Reporter },
): Promise<void> {
  const subject = `Cannot export "${ref.expanded}"`;
  const source = await sourceFromCache(layout, { ref, root, platform: a.platform, subject });
  if (source === undefined) {
    throw new MobyError(`${subject}: the cache lacks some of its blobs for ${formatPlatform(a.platform)}`, {
      code: 'NOT_FOUND',
      hint: 'pull it for that platform first: mobyts cache pull --arch ARCH REF',
    });
  }
  await writeTar(flattenImage(source, { reporter: a.reporter }), a.out);
}
