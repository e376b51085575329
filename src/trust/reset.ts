/** `mobyts trust reset REPO...`: forget pinned Notary roots, the explicit step a root key change requires. */
import type { CommandContext } from '../util/context.ts';
import { parseReference, referenceName } from '../oci/reference.ts';
import { defaultTrustDir, resetPinned } from './pin-store.ts';

/** Resets each repository's pin (GUN = expanded `registry/repository`); reports what it did on stderr. */
export async function runTrustReset(repos: string[], trustDir: string | undefined, ctx: CommandContext): Promise<void> {
  const dir = trustDir ?? defaultTrustDir();
  for (const repo of repos) {
    const gun = referenceName(parseReference(repo));
    const existed = await resetPinned(dir, gun);
    ctx.stderr.write(existed ? `reset trust pin for ${gun}\n` : `no trust pin for ${gun} (nothing to reset)\n`);
  }
}
