/**
 * Tables of contents of images, kept beside the image layout under `<cache>/.mobyts/toc/<key>.json` (never in
 * TMPDIR, and not in the section cache: emptying the section cache does not make a build read the images'
 * layers again just to plan). A TOC is made the first time a build needs it, from the image's layers, and keyed
 * by the image's manifest digest and what shaped the listing (src/rootfs/init.ts), so it never goes stale.
 * Each file holds the value's sha256 on its first line; a file that does not match counts as absent and is
 * made again. A TOC that cannot be stored (a full disk) leaves no temp file; the build goes on without it
 * (src/rootfs/toc.ts). `mobyts cache clean` removes them with the images.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Small JSON values by key (an image's table of contents: src/rootfs/init.ts `TocStore`). */
export interface JsonMemo {
  get(key: string): Promise<unknown>;
  put(key: string, value: unknown): Promise<void>;
}

const KEY = /^[0-9a-f]{64}$/;

/** The key of the TOC that `what` (JSON: what it describes, its kind and version) identifies. */
export function tocKey(what: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(what)).digest('hex');
}

/** Where the TOCs of the cache directory `cacheDir` live. */
export function tocDir(cacheDir: string): string {
  return join(cacheDir, '.mobyts', 'toc');
}

/** The TOC store of `cacheDir`; undefined when its directory cannot be created (builds then read the layers). */
export async function openImageTocs(cacheDir: string): Promise<JsonMemo | undefined> {
  const dir = tocDir(cacheDir);
  try {
    await mkdir(dir, { recursive: true });
  } catch {
    return undefined;
  }
  const file = (key: string): string => join(dir, `${key}.json`);
  return {
    get: async (key) => {
      if (!KEY.test(key)) return undefined;
      const text = await readFile(file(key), 'utf8').catch(() => undefined);
      const nl = text?.indexOf('\n') ?? -1;
      if (text === undefined || nl < 0) return undefined;
      const body = text.slice(nl + 1);
      if (createHash('sha256').update(body).digest('hex') !== text.slice(0, nl)) return undefined;
      return JSON.parse(body) as unknown;
    },
    put: async (key, value) => {
      if (!KEY.test(key)) return;
      const body = JSON.stringify(value);
      const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
      try {
        await writeFile(tmp, `${createHash('sha256').update(body).digest('hex')}\n${body}`);
        await rename(tmp, file(key));
      } catch (err) {
        // a full disk may have left part of the temp file: remove it (the caller goes on without this TOC)
        await rm(tmp, { force: true }).catch(() => {});
        throw err;
      }
    },
  };
}

/** Removes every TOC (with the images they describe: `mobyts cache clean`). */
export async function cleanImageTocs(cacheDir: string): Promise<void> {
  await rm(tocDir(cacheDir), { recursive: true, force: true });
}
