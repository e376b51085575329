/** The tar module's reader and writer as the build and its formats use them (files and byte streams). */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { EntryStream } from '../tar/entry.ts';
import { readTar } from '../tar/read.ts';
import { tarBytes } from '../tar/write.ts';

/** The Go-compatible tar bytes of `entries`, as a byte stream (drains the entries as it is read). */
export function tarStream(entries: EntryStream): Readable {
  return Readable.from(tarBytes(entries), { objectMode: false });
}

/** The entries of a tar file; the file is closed when the iteration ends or breaks. */
export function readTarFile(path: string): EntryStream {
  return readTar(createReadStream(path), { subject: path });
}
