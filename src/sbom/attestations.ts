/**
 * The SPDX documents an image carries as BuildKit attestations (docs/linuxkit-behaviour.md#sbom): in-toto statements
 * with predicate type `https://spdx.dev/Document`, in attestation manifests that reference the image's platform
 * manifest. Only sources that expose `attestations` (the store's) have any; others give none.
 */
import type { ImageSource } from '../image/source.ts';
import type { Attestation } from '../image/store-source.ts';
import { MediaType } from '../oci/types.ts';
import { MobyError } from '../util/errors.ts';

export const SPDX_PREDICATE = 'https://spdx.dev/Document';

function attestationsOf(source: ImageSource): Attestation[] {
  const a = (source as { attestations?: unknown }).attestations;
  return Array.isArray(a) ? (a as Attestation[]) : [];
}

async function readJson(
  source: ImageSource,
  digest: Parameters<ImageSource['openBlob']>[0],
  size: number,
): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of await source.openBlob(digest, size)) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (err) {
    throw new MobyError(`Cannot read the SBOM attestation ${digest} of "${source.ref.expanded}": it is not JSON`, {
      code: 'IMAGE_CONFIG',
      cause: err,
    });
  }
}

/** The SPDX predicates of `source`'s attestations, in manifest order (blobs verified as read). */
export async function spdxDocuments(source: ImageSource): Promise<Array<Record<string, unknown>>> {
  const docs: Array<Record<string, unknown>> = [];
  for (const att of attestationsOf(source)) {
    for (const layer of att.manifest.layers) {
      if (layer.mediaType !== MediaType.IN_TOTO || layer.annotations?.['in-toto.io/predicate-type'] !== SPDX_PREDICATE)
        continue;
      const statement = await readJson(source, layer.digest, layer.size);
      const predicate = (statement as { predicate?: unknown } | null)?.predicate;
      if (typeof predicate === 'object' && predicate !== null && !Array.isArray(predicate))
        docs.push(predicate as Record<string, unknown>);
    }
  }
  return docs;
}
