/**
 * Finds a kernel config shipped as a file in a kernel image or its `kernel.tar` (LinuxKit kernels and
 * distribution packages put it at `boot/config-<version>`; some builds ship `.config`), for `checkKernel`'s
 * `configText`. Streams the tar; only the config file itself is buffered.
 */
import { createReadStream } from 'node:fs';
import { readTar } from '../tar/read.ts';
import type { EntryStream } from '../tar/entry.ts';

/** True for the paths a kernel config is shipped under. */
export function isConfigPath(name: string): boolean {
  return (
    /(^|\/)boot\/config-[^/]+$/.test(name) || /(^|\/)\.config$/.test(name) || name.replace(/^\.?\//, '') === 'config'
  );
}

/** The text of the first config file in the tar at `tarPath`, or undefined. Reads the tar to its end. */
export function configFromTar(tarPath: string): Promise<string | undefined> {
  return configFromEntries(readTar(createReadStream(tarPath), { subject: tarPath }));
}

/** The text of the first config file among `entries`, or undefined. Drains the stream. */
export async function configFromEntries(entries: EntryStream): Promise<string | undefined> {
  let found: string | undefined;
  for await (const entry of entries) {
    if (
      found !== undefined ||
      entry.header.type !== 'file' ||
      entry.body === undefined ||
      !isConfigPath(entry.header.name)
    )
      continue;
    const chunks: Buffer[] = [];
    for await (const c of entry.body) chunks.push(c as Buffer);
    found = Buffer.concat(chunks).toString('utf8');
  }
  return found;
}
