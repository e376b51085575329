/** Writing an archive to FILE (temp beside it, renamed when complete) or to stdout (`-`). */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import type { Writable } from 'node:stream';

/** Runs `write` against `file` (atomically: temp + rename) or `stdout` for `-`; a failure leaves no file. */
export async function writeAtomically<T>(
  file: string,
  stdout: Writable,
  write: (out: Writable) => Promise<T>,
): Promise<T> {
  if (file === '-') return write(stdout);
  const tmp = join(dirname(file), `.${basename(file)}.tmp-${process.pid}`);
  try {
    const result = await write(createWriteStream(tmp));
    await rename(tmp, file);
    return result;
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
