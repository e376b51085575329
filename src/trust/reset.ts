/** `mobyts trust reset REPO...`: forget pinned Notary roots, the explicit step a root key change requires. */
import { parseReference, referenceName } from '../oci/reference.ts';
import { defaultTrustDir, resetPinned } from './pin-store.ts';

/** One repository's reset: its GUN (expanded `registry/repository`) and whether it had a pin to forget. */
export interface TrustResetRecord {
  gun: string;
  existed: boolean;
}

/** Resets each repository's pin in turn, yielding what it did for each before the next. */
export async function* runTrustReset(repos: string[], trustDir: string | undefined): AsyncGenerator<TrustResetRecord> {
  const dir = trustDir ?? defaultTrustDir();
  for (const repo of repos) {
    const gun = referenceName(parseReference(repo));
    yield { gun, existed: await resetPinned(dir, gun) };
  }
}
