/** `mobyts trust verify IMAGE...`: what a build would pull for each image, resolved and checked through Notary. */
import type { CommandContext } from '../util/context.ts';
import { parseReference } from '../oci/reference.ts';
import type { RegistryOptions } from '../store/types.ts';
import { short } from './tuf.ts';
import { verifyTrusted } from './verify.ts';

export interface TrustVerifyOptions {
  registry: RegistryOptions;
  trustServer?: string;
  trustDir?: string;
}

/** Verifies each image in turn; prints `REF DIGEST signed by ROLE (KEYS)` on stdout; the first failure throws. */
export async function runTrustVerify(images: string[], opts: TrustVerifyOptions, ctx: CommandContext): Promise<void> {
  for (const image of images) {
    const ref = parseReference(image);
    const result = await verifyTrusted(ref, {
      registry: opts.registry,
      reporter: ctx.reporter,
      signal: ctx.signal,
      ...(opts.trustServer === undefined ? {} : { trustServer: opts.trustServer }),
      ...(opts.trustDir === undefined ? {} : { trustDir: opts.trustDir }),
    });
    const by =
      result.signedBy.length === 0
        ? 'pinned by digest (no tag to verify)'
        : `signed by ${result.signedBy.join(', ')} (${result.keyIds.map(short).join(', ')})`;
    ctx.stdout.write(`${ref.expanded} ${result.digest} ${by}\n`);
  }
}
