/**
 * `mobyts validate FILE...`: the specs loaded and checked as `build` would, without building anything. The CLI
 * prints every problem (`FILE:LINE:COL: PATH: message`, then `  hint: …`, then `N problems in FILES`) and exits 1
 * on errors, or prints `FILES: valid`; files are merged as `build` merges them, or checked one by one with
 * `--each` (one call per file).
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadSpecs, type LoadedSpecs } from './load.ts';
import { TEMPLATE_PREFIX } from './rules.ts';

/**
 * Checks that an `@pkg:PATH` names a package directory (one with build.yml) and keeps the literal: computing
 * the tag may run each package's fingerprint command, which is the build's (and `--dry-run`'s) business.
 */
async function packageExists(value: string, baseDir: string): Promise<string | undefined> {
  if (!value.startsWith(TEMPLATE_PREFIX)) return undefined;
  const dir = resolve(baseDir, value.slice(TEMPLATE_PREFIX.length));
  return stat(join(dir, 'build.yml')).then(
    (st) => (st.isFile() ? value : undefined),
    () => undefined,
  );
}

/** `files` loaded as one merged build, `@pkg:` values checked for a package directory. Throws only for unreadable inputs. */
export function loadForValidate(files: string[], signal?: AbortSignal): Promise<LoadedSpecs> {
  return loadSpecs(files, { resolveTemplate: packageExists, ...(signal === undefined ? {} : { signal }) });
}
