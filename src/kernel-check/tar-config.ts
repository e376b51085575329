/**
 * Finds a kernel config shipped as a file in a kernel image or its `kernel.tar` (LinuxKit kernels and
 * distribution packages put it at `boot/config-<version>`; some builds ship `.config`), for `checkKernel`'s
 * `configText`. Streams the tar; only the config file itself is buffered.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';

/** True for the paths a kernel config is shipped under. */
export function isConfigPath(name: string): boolean {
  return /(^|\/)boot\/config-[^/]+$/.test(name) || /(^|\/)\.config$/.test(name) || name.replace(/^\.?\//, '') === 'config';
}

/** The text of the first config file in the tar at `tarPath`, or undefined. Reads the tar to its end. */
export async function configFromTar(tarPath: string): Promise<string | undefined> {
  let found: string | undefined;
  const ex = extract();
  const done = pipeline(createReadStream(tarPath), ex);
  for await (const entry of ex) {
    const body = entry as unknown as Readable;
    if (found === undefined && entry.header.type === 'file' && isConfigPath(entry.header.name)) {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      found = Buffer.concat(chunks).toString('utf8');
    } else {
      body.resume();
    }
  }
  await done;
  return found;
}
