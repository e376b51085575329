/**
 * Pushes a built package from the store to its registry: every layer, the config, the platform manifest (by
 * digest) and the index under the tag. Blobs the registry has already are skipped by the client.
 */
import { buffer } from 'node:stream/consumers';
import type { Digest } from '../oci/digest.ts';
import { parseReference } from '../oci/reference.ts';
import { MediaType, type Descriptor } from '../oci/types.ts';
import { createRegistryClient, pushContext } from '../registry/client.ts';
import type { ImageStore } from '../store/index.ts';
import type { RegistryOptions } from '../store/types.ts';
import { MobyError } from '../util/errors.ts';

async function blob(store: ImageStore, d: Descriptor): Promise<Buffer> {
  return buffer(await store.openBlob(d.digest, d.size));
}

/** Pushes `ref` (as named in the store) to `pushAs` (default: the same name). Resolves with the index digest. */
export async function pushPackage(store: ImageStore, ref: string, opts: { registry: RegistryOptions; pushAs?: string; signal?: AbortSignal }): Promise<Digest> {
  const target = parseReference(opts.pushAs ?? ref);
  const root = await store.getRef(parseReference(ref).expanded);
  if (root === undefined) throw new MobyError(`Cannot push "${ref}": it is not in the store`, { code: 'NOT_FOUND' });
  const client = createRegistryClient({ registry: opts.registry, ...(opts.signal === undefined ? {} : { signal: opts.signal }) });
  const ctx = pushContext(target);
  try {
    const indexBytes = await blob(store, root);
    const index = JSON.parse(indexBytes.toString()) as { manifests: Descriptor[] };
    for (const m of index.manifests) {
      const manifestBytes = await blob(store, m);
      const manifest = JSON.parse(manifestBytes.toString()) as { config: Descriptor; layers: Descriptor[] };
      for (const d of [...manifest.layers, manifest.config]) await client.pushBlob(ctx, d, await blob(store, d));
      await client.pushManifest(ctx, manifestBytes, MediaType.OCI_MANIFEST);
    }
    return await client.pushManifest(ctx, indexBytes, MediaType.OCI_INDEX, target.tag);
  } finally {
    await client.close();
  }
}
