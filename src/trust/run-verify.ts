/** `mobyts trust verify IMAGE...`: what a build would pull for each image, resolved and checked through Notary. */
import type { CommandContext } from '../util/context.ts';
import { parseReference } from '../oci/reference.ts';
import type { RegistryOptions } from '../store/types.ts';
import { verifyTrusted, type TrustResult } from './verify.ts';

export interface TrustVerifyOptions {
  registry: RegistryOptions;
  trustServer?: string;
  trustDir?: string;
}

/** One verified image (expanded) and what its check found: no roles and keys when it is pinned by digest. */
export interface TrustVerifyRecord extends TrustResult {
  ref: string;
}

/** Verifies each image in turn, yielding a record for each before the next; the first failure throws. */
export async function* runTrustVerify(
  images: string[],
  opts: TrustVerifyOptions,
  ctx: Pick<CommandContext, 'reporter' | 'signal'>,
): AsyncGenerator<TrustVerifyRecord> {
  for (const image of images) {
    const ref = parseReference(image);
    const result = await verifyTrusted(ref, {
      registry: opts.registry,
      reporter: ctx.reporter,
      signal: ctx.signal,
      ...(opts.trustServer === undefined ? {} : { trustServer: opts.trustServer }),
      ...(opts.trustDir === undefined ? {} : { trustDir: opts.trustDir }),
    });
    yield { ref: ref.expanded, ...result };
  }
}
