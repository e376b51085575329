/** The tar reader and writer over files and byte streams, as the build and the formats use them. */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { EntryStream } from './entry.ts';
import { readTar } from './read.ts';
import { tarBytes } from './write.ts';

/** The Go-compatible tar bytes of `entries`, as a byte stream (drains the entries as it is read). */
export function tarStream(entries: EntryStream): Readable {
  return Readable.from(tarBytes(entries), { objectMode: false });
}

/** The entries of a tar file; the file is closed when the iteration ends or breaks. */
export function readTarFile(path: string): EntryStream {
  return readTar(createReadStream(path), { subject: path });
}
