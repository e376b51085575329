/**
 * The offline example packages (examples/packages/{kernel,init,hello,getty}) built into a store, as
 * `mobyts pkg build` would: the one shared way tests get the images examples/hello.yml refers to.
 */
import { join, resolve } from 'node:path';
import { buildPackage } from '../../src/pkg/build.ts';
import { openStore, type ImageStore } from '../../src/store/index.ts';
import { silentReporter } from '../../src/util/reporter.ts';

const REPO = resolve(import.meta.dirname, '../..');

/** The packages examples/hello.yml uses, in build order. */
export const EXAMPLE_PACKAGES: readonly string[] = ['kernel', 'init', 'hello', 'getty'].map((p) =>
  join(REPO, 'examples/packages', p),
);

/**
 * Opens (creating) the store at `cacheDir` and builds every example package into it for `archs` (default
 * amd64; arm64 from Debian's arm64 .debs), fixed epoch.
 */
export async function buildExamplePackages(
  cacheDir: string,
  archs: readonly string[] = ['amd64'],
): Promise<ImageStore> {
  const store = await openStore(cacheDir);
  for (const p of EXAMPLE_PACKAGES) {
    await buildPackage(p, { store, archs, force: false, sourceDateEpoch: 1492533000, reporter: silentReporter });
  }
  return store;
}
