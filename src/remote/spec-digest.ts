/**
 * The digest `push --spec` records: the spec files merged and normalised exactly as `build` reads them. Loading
 * returns the spec's problems as issues; the CLI shows them and stops on errors (docs/architecture.md#cli).
 */
import { createPkgResolver } from '../pkg/template.ts';
import { defaultCacheDir } from '../store/index.ts';
import { loadSpecs, type LoadedSpecs } from '../spec/load.ts';
import { normaliseSpec } from '../spec/normalise.ts';
import { specDigestOf } from './artifact.ts';

/** The spec files of `push --spec`, loaded, merged and checked as `build` loads them (`@pkg:` tags from `cache`). */
export function loadDigestSpecs(files: string[], cache?: string): Promise<LoadedSpecs> {
  return loadSpecs(files, { resolveTemplate: createPkgResolver({ cache: cache ?? defaultCacheDir() }) });
}

/** sha256 of the normalised merged spec of `loaded` (canonical JSON); `loaded` must have no errors. */
export function loadedSpecDigest(loaded: LoadedSpecs): string {
  return specDigestOf(normaliseSpec(loaded.spec));
}
