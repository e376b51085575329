/**
 * One image layer from a staged directory, byte-for-byte reproducible: entries sorted, every mtime the same
 * (SOURCE_DATE_EPOCH or LinuxKit's 1492533000), uid/gid 0, permission bits kept, gzip level 6 with mtime 0
 * (Node's zlib writes a zero header mtime). The compressed bytes go to a file; digests are computed in passing.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Digest } from '../oci/digest.ts';
import type { TarEntry } from '../tar/entry.ts';
import { tarBytes } from '../tar/write.ts';
import { listTree } from './tag.ts';

export const LINUXKIT_EPOCH = 1492533000;

/** SOURCE_DATE_EPOCH when set to an integer, else LinuxKit's 2017-04-18T16:30:00Z. */
export function sourceDateEpoch(env: Record<string, string | undefined> = process.env): number {
  const v = env.SOURCE_DATE_EPOCH;
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : LINUXKIT_EPOCH;
}

/** The directory's entries as tar entries (files opened lazily, one at a time, in order). */
export async function* dirEntries(dir: string, mtime: number): AsyncGenerator<TarEntry> {
  for (const rel of await listTree(dir)) {
    const p = join(dir, rel);
    const st = await lstat(p);
    const base = { name: rel, mode: st.mode & 0o7777, uid: 0, gid: 0, mtime };
    if (st.isDirectory()) yield { header: { ...base, type: 'directory', size: 0 } };
    else if (st.isSymbolicLink())
      yield { header: { ...base, mode: 0o777, type: 'symlink', size: 0, linkname: await readlink(p) } };
    else if (st.isFile()) yield { header: { ...base, type: 'file', size: st.size }, body: createReadStream(p) };
    // sockets, fifos and devices cannot come from a rootless staging step; they are left out.
  }
}

function hashing(onDone: (d: Digest, size: number) => void): Transform {
  const h = createHash('sha256');
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      onDone(`sha256:${h.digest('hex')}` as Digest, size);
      cb();
    },
  });
}

export interface WrittenLayer {
  /** The gzip file. */
  path: string;
  digest: Digest;
  size: number;
  /** sha256 of the uncompressed tar (the config's rootfs.diff_ids entry). */
  diffId: Digest;
}

/** Writes `dir` as a gzip'd layer tar to `out`. */
export async function writeLayer(dir: string, out: string, mtime: number): Promise<WrittenLayer> {
  let diffId = '' as Digest;
  let digest = '' as Digest;
  let size = 0;
  await pipeline(
    Readable.from(tarBytes(dirEntries(dir, mtime))),
    hashing((d) => {
      diffId = d;
    }),
    createGzip({ level: 6 }),
    hashing((d, n) => {
      digest = d;
      size = n;
    }),
    createWriteStream(out),
  );
  return { path: out, digest, size, diffId };
}
