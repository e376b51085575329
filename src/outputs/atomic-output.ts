/**
 * Publishing an output file: the content is produced under a temporary name in the destination directory and
 * renamed into place only when complete, so a failure or Ctrl-C never leaves a partial output behind.
 */
import { randomBytes } from 'node:crypto';
import { rm, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Calls `produce(tmp)`; on success renames tmp to `dest`, on failure removes tmp and rethrows. */
export async function publish(dest: string, produce: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = join(dirname(dest), `.${basename(dest)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await produce(tmp);
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
