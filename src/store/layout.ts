/**
 * The OCI image layout on disk (image-spec image-layout.md), LinuxKit's cache format: `oci-layout`,
 * `index.json`, `blobs/<alg>/<hex>`. mobyts keeps its temp files and locks under `.mobyts/` beside them.
 * Blob writes: temp file → hash → fsync → rename (never a partial or unverified blob under `blobs/`).
 * index.json updates: read → change → write temp → rename, under the index lock.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { access, constants, mkdir, open, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { digestAlgorithm, digestHex, isDigest, type Digest } from '../oci/digest.ts';
import { MediaType, REF_NAME_ANNOTATION, type Descriptor, type ImageIndex } from '../oci/types.ts';
import { errnoDetail, MobyError } from '../util/errors.ts';
import { cacheWriteError } from './io-error.ts';
import { withLock } from './lock.ts';
import { verifyBuffer, verifyStream } from '../oci/verify.ts';
import { removeStamp, stampVerified } from './integrity.ts';

/** index.json exists but is not an OCI index (garbage, truncated, entries that are not descriptors). */
export class DamagedIndexError extends MobyError {
  readonly path: string;

  constructor(path: string, why: string, cause?: unknown) {
    super(`Cannot read the cache index "${path}": ${why}`, {
      code: 'STORE',
      ...(cause === undefined ? {} : { cause }),
      hint: 'a build with the registry reachable sets it aside and fetches what it needs again; `mobyts cache verify` checks the cache, `mobyts cache clean` starts an empty one',
    });
    this.name = 'DamagedIndexError';
    this.path = path;
  }
}

export interface WriteBlobOptions {
  /** Starts error messages: `Cannot pull "REF": blob sha256:… does not match …`. */
  subject?: string;
  /** Called with each chunk's length as it is written (progress). */
  onBytes?: (n: number) => void;
  /** Write even when a blob of that digest exists (it was found damaged): the good copy replaces it by rename. */
  replace?: boolean;
}

export interface Layout {
  readonly dir: string;
  /**
   * The cache cannot be written (a read-only mount, or a directory this user may not write): it is read
   * without the index and blob locks and without a lease — nothing can write or clean it through this
   * process, and whatever it must store (a pull, a name) fails with the write's own error.
   */
  readonly readOnly: boolean;
  blobPath(digest: Digest): string;
  hasBlob(digest: Digest): Promise<boolean>;
  writeBlob(
    data: Readable | Uint8Array,
    expected?: { digest: Digest; size: number },
    opts?: WriteBlobOptions,
  ): Promise<{ digest: Digest; size: number }>;
  openBlob(digest: Digest, size?: number): Promise<Readable>;
  readBlob(digest: Digest, size?: number): Promise<Buffer>;
  readIndex(): Promise<ImageIndex>;
  /**
   * Applies `change` to index.json under the lock and writes it atomically; returns what `change` returned.
   * With `onDamaged`, an index.json that is not a valid index is moved aside (its path is passed to
   * `onDamaged`) and `change` gets an empty index; without it such a file rejects with DamagedIndexError.
   */
  updateIndex<T>(
    change: (index: ImageIndex) => T | Promise<T>,
    opts?: { onDamaged?: (err: DamagedIndexError, savedAs: string) => void },
  ): Promise<T>;
  /** Runs `fn` holding the index lock (what gc and image naming hold), without changing index.json. */
  withIndexLock<T>(fn: () => Promise<T>): Promise<T>;
  /** Runs `fn` holding the per-blob lock, so parallel pulls download each blob once. */
  withBlobLock<T>(digest: Digest, fn: () => Promise<T>): Promise<T>;
  /** Every blob file under blobs/ (digest form). */
  listBlobs(): Promise<Digest[]>;
  removeBlob(digest: Digest): Promise<void>;
}

const LAYOUT_FILE = JSON.stringify({ imageLayoutVersion: '1.0.0' });

/** Opens (creating when missing) the layout at `dir`. */
export async function openLayout(dir: string): Promise<Layout> {
  if (await readOnlyDir(dir)) return makeLayout(dir, true);
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await mkdir(join(dir, '.mobyts', 'tmp'), { recursive: true });
  await mkdir(join(dir, '.mobyts', 'locks'), { recursive: true });
  await mkdir(join(dir, '.mobyts', 'verified'), { recursive: true });
  await writeIfMissing(join(dir, 'oci-layout'), LAYOUT_FILE);
  await writeIfMissing(join(dir, 'index.json'), `${JSON.stringify(emptyIndex())}\n`);
  return makeLayout(dir, false);
}

/** An existing directory this process cannot write (EROFS, or EACCES for its user). */
async function readOnlyDir(dir: string): Promise<boolean> {
  try {
    await access(dir, constants.W_OK);
    return false;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EROFS' || code === 'EACCES';
  }
}

function emptyIndex(): ImageIndex {
  return { schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: [] };
}

async function writeIfMissing(path: string, content: string): Promise<void> {
  try {
    await writeFile(path, content, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/** Blobs read whole with one synchronous call (manifests, configs); larger ones are streamed. */
const SMALL_BLOB = 4 << 20;

function tmpName(dir: string): string {
  return join(dir, '.mobyts', 'tmp', `${process.pid}-${randomBytes(6).toString('hex')}`);
}

function makeLayout(dir: string, readOnly: boolean): Layout {
  const blobPath = (d: Digest): string => join(dir, 'blobs', digestAlgorithm(d), digestHex(d));
  // Small-file calls are synchronous (here, in readIndex, and in integrity.ts and lease.ts): a build opens each
  // cached image with a few dozen of them, one after another under the index lock, and a trip through the thread
  // pool costs ten times the call. Blobs of unknown or larger size are streamed.
  const hasBlob = (d: Digest): Promise<boolean> => {
    try {
      return Promise.resolve(statSync(blobPath(d)).isFile());
    } catch {
      return Promise.resolve(false);
    }
  };
  const cannotRead = (d: Digest, err: NodeJS.ErrnoException): MobyError =>
    new MobyError(`Cannot read blob "${d}"${err.code === 'ENOENT' ? ': it is not in the cache' : errnoDetail(err)}`, {
      code: 'STORE',
      cause: err,
    });
  const openBlob = async (d: Digest, size?: number): Promise<Readable> => {
    const path = blobPath(d);
    const fh = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
      throw cannotRead(d, err);
    });
    return verifyStream(fh.createReadStream(), d, size, { subject: 'cached blob' });
  };
  const layout: Layout = {
    dir,
    readOnly,
    blobPath,
    hasBlob,
    openBlob,
    readBlob: async (d, size) => {
      if (size !== undefined && size <= SMALL_BLOB) {
        let bytes: Buffer;
        try {
          bytes = readFileSync(blobPath(d));
        } catch (err) {
          throw cannotRead(d, err as NodeJS.ErrnoException);
        }
        return verifyBuffer(bytes, d, size, { subject: 'cached blob' });
      }
      const chunks: Buffer[] = [];
      for await (const c of await openBlob(d, size)) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    },
    writeBlob: (data, expected, opts) => writeBlob(dir, blobPath, { data, expected, opts: opts ?? {}, hasBlob }),
    readIndex: () => readIndex(dir),
    updateIndex: (change, o) =>
      withLock(join(dir, '.mobyts', 'index.lock'), async () => {
        const index = await readIndex(dir).catch(async (err: unknown) => {
          if (!(err instanceof DamagedIndexError) || o?.onDamaged === undefined) throw err;
          const savedAs = join(dir, '.mobyts', `index.json.damaged-${Date.now()}`);
          await rename(join(dir, 'index.json'), savedAs);
          o.onDamaged(err, savedAs);
          return emptyIndex();
        });
        const result = await change(index);
        const tmp = tmpName(dir);
        try {
          await writeFile(tmp, `${JSON.stringify(index)}\n`, { flush: true });
          await rename(tmp, join(dir, 'index.json'));
        } catch (err) {
          await unlink(tmp).catch(() => undefined);
          throw cacheWriteError(`write the cache index "${join(dir, 'index.json')}"`, err);
        }
        return result;
      }),
    withIndexLock: (fn) => (readOnly ? fn() : withLock(join(dir, '.mobyts', 'index.lock'), fn)),
    // another process downloading a big layer over a slow link may hold this for long: wait up to an hour
    withBlobLock: (d, fn) =>
      readOnly ? fn() : withLock(join(dir, '.mobyts', 'locks', `${digestHex(d)}.lock`), fn, { timeoutMs: 3_600_000 }),
    listBlobs: async () => {
      const out: Digest[] = [];
      for (const alg of ['sha256', 'sha512']) {
        const names = await readdir(join(dir, 'blobs', alg)).catch(() => [] as string[]);
        for (const n of names) if (isDigest(`${alg}:${n}`)) out.push(`${alg}:${n}` as Digest);
      }
      return out.sort();
    },
    removeBlob: async (d) => {
      await rm(blobPath(d), { force: true });
      await removeStamp(dir, d);
    },
  };
  return layout;
}

// eslint-disable-next-line @typescript-eslint/require-await -- async: its errors reject, as callers expect
async function readIndex(dir: string): Promise<ImageIndex> {
  let text: string;
  try {
    text = readFileSync(join(dir, 'index.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyIndex();
    throw err;
  }
  const path = join(dir, 'index.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new DamagedIndexError(path, 'it is not valid JSON', cause);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new DamagedIndexError(path, 'it is not a JSON object');
  const index = parsed as Partial<ImageIndex>;
  if (index.manifests !== undefined && !Array.isArray(index.manifests))
    throw new DamagedIndexError(path, '"manifests" is not a list');
  const manifests = index.manifests ?? [];
  const bad = manifests.findIndex((d) => !isDescriptor(d));
  if (bad >= 0)
    throw new DamagedIndexError(path, `manifests[${bad}] is not a descriptor (needs mediaType, digest, size)`);
  return { ...emptyIndex(), ...index, manifests };
}

function isDescriptor(d: unknown): d is Descriptor {
  const o = d as Partial<Descriptor> | null;
  return (
    o !== null &&
    typeof o === 'object' &&
    typeof o.mediaType === 'string' &&
    typeof o.digest === 'string' &&
    isDigest(o.digest) &&
    typeof o.size === 'number' &&
    Number.isSafeInteger(o.size) &&
    o.size >= 0 &&
    (o.annotations === undefined || (typeof o.annotations === 'object' && o.annotations !== null))
  );
}

interface WriteArgs {
  data: Readable | Uint8Array;
  expected: { digest: Digest; size: number } | undefined;
  opts: WriteBlobOptions;
  hasBlob: (d: Digest) => Promise<boolean>;
}

async function writeBlob(
  dir: string,
  blobPath: (d: Digest) => string,
  a: WriteArgs,
): Promise<{ digest: Digest; size: number }> {
  if (a.expected !== undefined && a.opts.replace !== true && (await a.hasBlob(a.expected.digest))) {
    if (a.data instanceof Readable) a.data.destroy();
    return { digest: a.expected.digest, size: a.expected.size };
  }
  const alg = a.expected === undefined ? 'sha256' : digestAlgorithm(a.expected.digest);
  const hash = createHash(alg);
  const tmp = tmpName(dir);
  const fh = await open(tmp, 'wx').catch((err: unknown) => {
    throw cacheWriteError(`write to the cache "${dir}"`, err);
  });
  let size = 0;
  const what = `${a.opts.subject === undefined ? '' : `${a.opts.subject}: `}blob ${a.expected?.digest ?? ''}`.replace(
    / $/,
    '',
  );
  try {
    const source = a.data instanceof Readable ? a.data : Readable.from([Buffer.from(a.data)]);
    for await (const chunk of source as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (a.expected !== undefined && size > a.expected.size) {
        source.destroy();
        throw new MobyError(`${what} is larger than its descriptor says (more than ${a.expected.size} bytes)`, {
          code: 'DIGEST_MISMATCH',
        });
      }
      hash.update(chunk);
      await fh.write(chunk);
      a.opts.onBytes?.(chunk.length);
    }
    await fh.sync();
    await fh.close();
    const digest = `${alg}:${hash.digest('hex')}` as Digest;
    if (a.expected !== undefined && size !== a.expected.size) {
      throw new MobyError(`${what} has ${size} bytes, expected ${a.expected.size}`, { code: 'DIGEST_MISMATCH' });
    }
    if (a.expected !== undefined && digest !== a.expected.digest) {
      throw new MobyError(`${what} does not match its digest (expected ${a.expected.digest}, got ${digest})`, {
        code: 'DIGEST_MISMATCH',
      });
    }
    await rename(tmp, blobPath(digest));
    await stampVerified(dir, blobPath(digest), digest);
    return { digest, size };
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw cacheWriteError(`store ${what.replace(/^.*: /, '')} in the cache "${dir}"`, err);
  }
}

/** Index descriptors named `refName` (LinuxKit keeps exactly one). */
export function refDescriptors(index: ImageIndex, refName: string): Descriptor[] {
  return index.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] === refName);
}
