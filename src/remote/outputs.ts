/**
 * What `mobyts push REF NAME…` sends: each argument is an output file, or a build's `-d/-n` prefix standing
 * for every output of every format found with that prefix (the format records name the files).
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { allFormats } from '../outputs/index.ts';
import { MobyError } from '../util/errors.ts';
import type { ArtifactFile } from './artifact.ts';

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** Every output file name suffix any format writes, longest first, without duplicates. */
function outputSuffixes(): string[] {
  return [...new Set(allFormats().flatMap((f) => f.outputs('')))].sort(
    (a, b) => b.length - a.length || a.localeCompare(b),
  );
}

/** The files to push for `args`, and the build name when a prefix was given. Throws NOT_FOUND when an argument matches nothing. */
export async function outputsToPush(args: string[]): Promise<{ files: ArtifactFile[]; name: string | undefined }> {
  const files: ArtifactFile[] = [];
  let name: string | undefined;
  for (const arg of args) {
    if (await isFile(arg)) {
      files.push({ path: arg });
      continue;
    }
    const found: string[] = [];
    for (const suffix of outputSuffixes()) if (await isFile(arg + suffix)) found.push(arg + suffix);
    if (found.length === 0) {
      throw new MobyError(`Cannot push "${arg}": it is neither a file nor the prefix of a build's outputs`, {
        code: 'NOT_FOUND',
        hint: `build first, e.g. mobyts build -n ${basename(arg)} spec.yml`,
      });
    }
    name ??= basename(arg);
    files.push(...found.sort().map((path) => ({ path })));
  }
  return { files, name };
}
