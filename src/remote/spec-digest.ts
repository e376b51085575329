/** The digest `push --spec` records: the spec files merged and normalised exactly as `build` reads them. */
import { createPkgResolver } from '../pkg/template.ts';
import { defaultCacheDir } from '../store/index.ts';
import { loadSpecs } from '../spec/load.ts';
import { normaliseSpec } from '../spec/normalise.ts';
import { hasErrors, renderIssues } from '../spec/issues.ts';
import { MobyError } from '../util/errors.ts';
import { specDigestOf } from './artifact.ts';

/** sha256 of the normalised merged spec (canonical JSON); an invalid spec fails with its problems. */
export async function specFilesDigest(files: string[], cache?: string): Promise<string> {
  const loaded = await loadSpecs(files, { resolveTemplate: createPkgResolver({ cache: cache ?? defaultCacheDir() }) });
  if (hasErrors(loaded.issues))
    throw new MobyError(
      `Cannot record the digest of ${files.join(', ')}: the spec is invalid\n${renderIssues(loaded.issues)}`,
      { code: 'SPEC_INVALID' },
    );
  return specDigestOf(normaliseSpec(loaded.spec));
}
