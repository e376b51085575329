/**
 * The limits each build is compared with, measured in the same run on the same bytes:
 * - compression floor: Node's zlib compressing the initrd's own cpio, single stream (one thread), at the
 *   levels the initrd writer pins (gzip 6, zstd 3), reading the cpio from a file (page cache) to a null sink;
 * - decompression floor: Node's zlib gunzipping every cached layer blob, one after another (one thread), to a
 *   null sink; with the compression floor it is the single-thread gunzip + gzip-6 floor issue 12 names;
 * - I/O floor: `cat` of the cached layer blobs, and of the outputs, to /dev/null;
 * - download floor: `curl` fetching every blob and manifest from the loopback registry to /dev/null.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, open, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGunzip, createGzip, createZstdCompress } from 'node:zlib';
import { digestHex } from '../../src/oci/digest.ts';
import type { PushedImage } from './generate.ts';
import { timeCommand } from './measure.ts';

function nullSink(): Writable {
  return new Writable({ write: (_c, _e, cb) => cb() });
}

/** Decompresses a gzip initrd (no ucode prepended in the bench specs) to `cpioPath`. */
export async function extractCpio(initrd: string, cpioPath: string): Promise<void> {
  await pipeline(createReadStream(initrd), createGunzip(), createWriteStream(cpioPath));
}

/** Seconds Node's zlib takes to compress `cpioPath` as the initrd writer would. */
export async function compressFloor(cpioPath: string, algo: 'gzip' | 'zstd'): Promise<number> {
  const z =
    algo === 'gzip'
      ? createGzip({ level: 6 })
      : createZstdCompress({ params: { [constants.ZSTD_c_compressionLevel]: 3 } });
  const start = performance.now();
  await pipeline(createReadStream(cpioPath, { highWaterMark: 1 << 20 }), z, nullSink());
  return (performance.now() - start) / 1000;
}

/** Seconds Node's zlib takes to gunzip `files` (gzip layer blobs), one after another, to a null sink. */
export async function gunzipFloor(files: string[]): Promise<number> {
  const start = performance.now();
  for (const f of files)
    await pipeline(createReadStream(f, { highWaterMark: 1 << 20 }), createGunzip({ chunkSize: 1 << 20 }), nullSink());
  return (performance.now() - start) / 1000;
}

/** Seconds `cat FILES > /dev/null` takes. */
export async function catFloor(files: string[]): Promise<number> {
  const devNull = await open('/dev/null', 'w');
  try {
    return await timeCommand('cat', files, { stdoutTo: devNull.fd });
  } finally {
    await devNull.close();
  }
}

/**
 * Seconds to replace `file` atomically with a copy of itself, as a rebuild that keeps most of its previous output
 * does (src/initrd/parts.ts): the kernel copies it to a temporary name beside it (`copyFile`:
 * copy_file_range), and the copy is renamed over it, which frees the old file's blocks.
 */
export async function replaceFloor(file: string): Promise<number> {
  const temp = join(dirname(file), `.${basename(file)}.floor`);
  const start = performance.now();
  await copyFile(file, temp);
  await rename(temp, file);
  return (performance.now() - start) / 1000;
}

/** The cache's blob files of every layer of `images`. */
export function cachedLayerFiles(cache: string, images: PushedImage[]): string[] {
  return images.flatMap((i) => i.layers.map((l) => join(cache, 'blobs', 'sha256', digestHex(l.digest))));
}

/** Seconds one `curl` takes to GET every manifest, config and layer of `images` over loopback, sequentially. */
export function downloadFloor(host: string, images: PushedImage[]): Promise<number> {
  const urls = images.flatMap((i) => {
    const repo = i.plan.repo;
    const blobs = [i.config, ...i.layers].map((d) => `http://${host}/v2/${repo}/blobs/${d.digest}`);
    return [`http://${host}/v2/${repo}/manifests/${i.manifest.digest}`, ...blobs];
  });
  const args = [
    '-sfL',
    '-H',
    `Accept: ${images[0]?.manifest.mediaType ?? '*/*'}`,
    ...urls.flatMap((u) => ['-o', '/dev/null', u]),
  ];
  return timeCommand('curl', args);
}
