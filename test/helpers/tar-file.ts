/** A small tar file for tests: each entry a header (name required, root-owned 0644 file by default) and its text. */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { TarHeader } from '../../src/tar/entry.ts';
import { entryStreamOf } from '../../src/tar/streams.ts';
import { writeTar } from '../../src/tar/write.ts';

export type TarFileEntry = [Partial<TarHeader> & { name: string }, string?];

/** Writes `entries` as a tar at `path` (mtime 2017-04-18 unless given) and returns `path`. */
export async function writeTarFile(path: string, entries: TarFileEntry[]): Promise<string> {
  await writeTar(
    entryStreamOf(
      entries.map(([h, text]) => {
        const body = Buffer.from(text ?? '');
        const header: TarHeader = {
          type: 'file',
          mode: 0o644,
          uid: 0,
          gid: 0,
          mtime: 1492533000,
          ...h,
          size: body.length,
        };
        return body.length === 0 ? { header } : { header, body: Readable.from([body]) };
      }),
    ),
    createWriteStream(path),
  );
  return path;
}
