/**
 * `--cache-from REF` / `--cache-to REF` (BuildKit's flag names, `type=registry`): the section cache
 * (store/sections.ts) shared through a registry repository (docs/scale.md#remote-cache).
 *
 * Remote layout, all content-addressed:
 * - one entry per section key: an image manifest (artifactType `application/vnd.mobyts.cache.section.v1`,
 *   the empty config) tagged `section-<key>`, whose layers are the compressed member, the record (JSON) and
 *   the blobs the section gives back on replay (kernel, microcode, SBOM text);
 * - one entry per table of contents of an init image (src/rootfs/toc.ts, keyed like the local ones in
 *   store/image-tocs.ts): an image manifest (artifactType `application/vnd.mobyts.cache.toc.v1`) tagged
 *   `toc-<key>`, whose one layer is the TOC's JSON;
 * - the index at REF's tag: an image index (artifactType `application/vnd.mobyts.cache.index.v1`) listing
 *   every entry manifest with its key as an annotation.
 * Entry tags are written once and never lost; the index is rebuilt from the tag list by each pusher until
 * it holds every entry tag it can see, so concurrent pushers converge on an index listing all of them.
 *
 * Reading: the index is fetched once per build, as soon as the cache is made (while the build pulls its
 * images). A key the local cache lacks but the index lists is downloaded, every part verified against its
 * digest while it streams: the entry manifest, the record and the section's blobs before `get` answers
 * (replaying the section needs them), the member in the background, up to MEMBER_DOWNLOADS at once, into a
 * temp file that the local section cache then takes over by rename. The initrd writer waits for a member
 * (`CachedMember.ready`) only when it copies it into the initrd, so the members of consecutive sections
 * download in parallel instead of one after another (docs/scale.md#figures). Any failure (registry fault,
 * wrong digest) is reported as a warning and the section is built locally: a failure before `get` answers
 * is a miss; a member that fails later rejects `ready` with DamagedSegment, so the initrd is written again
 * and the section built here (a segment that does not verify is never used). A TOC the local store lacks is
 * downloaded the same way (verified) when the build asks for it; one that fails is read from the layers
 * (docs/scale.md#remote-cache).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { DamagedSegment, type CachedMember, type SegmentCache, type SegmentRecord } from '../initrd/segments.ts';
import { digestOf, type Digest } from '../oci/digest.ts';
import { parseReference, type Reference } from '../oci/reference.ts';
import { MediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../oci/types.ts';
import { verifyStream } from '../oci/verify.ts';
import {
  createRegistryClient,
  pullContext,
  pushContext,
  type CallContext,
  type RegistryClient,
} from '../registry/client.ts';
import { RegistryError } from '../registry/errors.ts';
import { memberPath, readKeptBlob, sectionsDir } from '../store/sections.ts';
import type { RegistryOptions } from '../store/types.ts';
import { isMobyError, usageError } from '../util/errors.ts';
import type { Reporter } from '../util/reporter.ts';
import type { TocStore } from '../rootfs/toc.ts';
import { EMPTY_CONFIG, EMPTY_DESCRIPTOR, TITLE } from './artifact.ts';

export const CACHE_INDEX_TYPE = 'application/vnd.mobyts.cache.index.v1';
export const CACHE_SECTION_TYPE = 'application/vnd.mobyts.cache.section.v1';
export const MEMBER_MEDIA_TYPE = 'application/vnd.mobyts.cache.member.v1';
export const RECORD_MEDIA_TYPE = 'application/vnd.mobyts.cache.record.v1+json';
export const BLOB_MEDIA_TYPE = 'application/vnd.mobyts.cache.blob.v1';
export const KEY_ANNOTATION = 'dev.mobyts.section.key';
export const CACHE_TOC_TYPE = 'application/vnd.mobyts.cache.toc.v1';
export const TOC_MEDIA_TYPE = 'application/vnd.mobyts.cache.toc.v1+json';
export const TOC_KEY_ANNOTATION = 'dev.mobyts.toc.key';
const TAG_PREFIX = 'section-';
const TOC_TAG_PREFIX = 'toc-';
/** Section members downloaded at once, each on its own connection to the registry. */
const MEMBER_DOWNLOADS = 4;
const KEY = /^[0-9a-f]{64}$/;

/**
 * The reference of a `--cache-from`/`--cache-to` value: BuildKit's `type=registry,ref=REF` or a bare REF.
 * Throws a usage error for another type or an unknown attribute.
 */
export function parseCacheFlag(flag: string, value: string): Reference {
  if (!value.includes('=')) return parseReference(value);
  const attrs = new Map(
    value.split(',').map((kv) => {
      const i = kv.indexOf('=');
      return [kv.slice(0, i).trim(), kv.slice(i + 1).trim()] as const;
    }),
  );
  const type = attrs.get('type') ?? 'registry';
  if (type !== 'registry')
    throw usageError(
      `Cannot use ${flag} ${value}: only type=registry is supported`,
      `write ${flag} type=registry,ref=REGISTRY/REPO:TAG`,
    );
  const unknown = [...attrs.keys()].filter((k) => k !== 'type' && k !== 'ref' && k !== 'mode');
  if (unknown.length > 0)
    throw usageError(`Cannot use ${flag} ${value}: unknown attribute ${unknown.join(', ')}`, 'known: type, ref, mode');
  const ref = attrs.get('ref');
  if (ref === undefined || ref === '')
    throw usageError(
      `Cannot use ${flag} ${value}: it names no ref`,
      `write ${flag} type=registry,ref=REGISTRY/REPO:TAG`,
    );
  return parseReference(ref);
}

export interface RemoteCacheOptions {
  /** The local section cache this one fills and reads. */
  local: SegmentCache;
  cacheDir: string;
  from: Reference[];
  to: Reference | undefined;
  registry: RegistryOptions;
  reporter: Reporter;
  signal?: AbortSignal;
}

/** What happened between this build and the remote cache (reported, and counted by tests). */
export interface RemoteStats {
  downloaded: number;
  failed: number;
  pushed: number;
  /** Tables of contents downloaded, and pushed. */
  tocsDownloaded: number;
  tocsPushed: number;
}

interface RemoteIndex {
  /** Section entries by key. */
  entries: Map<string, Descriptor>;
  /** TOC entries by key. */
  tocs: Map<string, Descriptor>;
}

const tagOf = (key: string): string => `${TAG_PREFIX}${key}`;
const tocTagOf = (key: string): string => `${TOC_TAG_PREFIX}${key}`;
const emptyIndex = (): RemoteIndex => ({ entries: new Map(), tocs: new Map() });

/** The map of `index` an entry tag `tag` belongs in, and its key; undefined for a tag that names no entry. */
function listedBy(index: RemoteIndex, tag: string): { map: Map<string, Descriptor>; key: string } | undefined {
  for (const [prefix, map] of [
    [TAG_PREFIX, index.entries],
    [TOC_TAG_PREFIX, index.tocs],
  ] as const) {
    const key = tag.slice(prefix.length);
    if (tag.startsWith(prefix) && KEY.test(key)) return { map, key };
  }
  return undefined;
}

function parseIndex(bytes: Buffer): RemoteIndex {
  const index = JSON.parse(bytes.toString('utf8')) as Partial<ImageIndex>;
  const out = emptyIndex();
  for (const d of Array.isArray(index.manifests) ? index.manifests : []) {
    const key = d.annotations?.[KEY_ANNOTATION];
    if (key !== undefined && KEY.test(key)) out.entries.set(key, d);
    const toc = d.annotations?.[TOC_KEY_ANNOTATION];
    if (toc !== undefined && KEY.test(toc)) out.tocs.set(toc, d);
  }
  return out;
}

function indexBytes(index: RemoteIndex): Buffer {
  const list = (m: Map<string, Descriptor>, artifactType: string, annotation: string): object[] =>
    [...m.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, d]) => ({
        mediaType: MediaType.OCI_MANIFEST,
        digest: d.digest,
        size: d.size,
        artifactType,
        annotations: { [annotation]: key },
      }));
  const manifests = [
    ...list(index.entries, CACHE_SECTION_TYPE, KEY_ANNOTATION),
    ...list(index.tocs, CACHE_TOC_TYPE, TOC_KEY_ANNOTATION),
  ];
  return Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_INDEX, artifactType: CACHE_INDEX_TYPE, manifests }),
  );
}

/** A section cache backed by the local one and a registry repository. */
export class RemoteSectionCache implements SegmentCache {
  readonly stats: RemoteStats = { downloaded: 0, failed: 0, pushed: 0, tocsDownloaded: 0, tocsPushed: 0 };
  readonly #o: RemoteCacheOptions;
  readonly #client: RegistryClient;
  /** Keys this build used (reused or made): what --cache-to exports. */
  readonly #used = new Set<string>();
  /** TOCs this build used (read or made), by key, as the JSON the local store holds: what --cache-to exports. */
  readonly #tocsUsed = new Map<string, Buffer>();
  #indexes: Promise<Array<{ ref: Reference; index: RemoteIndex }>> | undefined;
  /** Keys whose member download failed in the background: built locally when the initrd is written again. */
  readonly #failedKeys = new Set<string>();
  /** Member downloads running, and those waiting for a slot. */
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(o: RemoteCacheOptions) {
    this.#o = o;
    this.#client = createRegistryClient({
      registry: o.registry,
      ...(o.signal === undefined ? {} : { signal: o.signal }),
    });
    // The index is needed by the first section; fetched now, it arrives while the images are pulled.
    if (o.from.length > 0) void this.#fromIndexes();
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  #warn(message: string, cause?: unknown): void {
    this.#o.reporter.emit({ type: 'warn', message, ...(cause === undefined ? {} : { cause }) });
  }

  /** The index of each --cache-from ref, fetched once; an unreachable or absent one counts as empty. */
  #fromIndexes(): Promise<Array<{ ref: Reference; index: RemoteIndex }>> {
    this.#indexes ??= Promise.all(
      this.#o.from.map(async (ref) => {
        try {
          const fetched = await this.#client.fetchManifest(pullContext(ref), ref.tag ?? ref.digest ?? 'latest');
          const index = parseIndex(fetched.bytes);
          this.#o.reporter.emit({
            type: 'info',
            message: `Remote cache ${ref.expanded}: ${index.entries.size} sections, ${index.tocs.size} tables of contents`,
          });
          return { ref, index };
        } catch (err) {
          if (isMobyError(err) && err.code === 'NOT_FOUND')
            this.#o.reporter.emit({ type: 'info', message: `Remote cache ${ref.expanded} is empty` });
          else this.#warn(`Cannot read the remote cache ${ref.expanded}, building without it`, err);
          return { ref, index: emptyIndex() };
        }
      }),
    );
    return this.#indexes;
  }

  async get(key: string): Promise<CachedMember | undefined> {
    const local = await this.#o.local.get(key);
    if (local !== undefined) {
      this.#used.add(key);
      return local;
    }
    if (this.#failedKeys.has(key)) return undefined;
    for (const { ref, index } of await this.#fromIndexes()) {
      const entry = index.entries.get(key);
      if (entry === undefined) continue;
      try {
        const got = await this.#download(ref, key, entry);
        this.#used.add(key);
        return got;
      } catch (err) {
        this.#o.signal?.throwIfAborted();
        this.#failure(ref, key, err);
      }
    }
    return undefined;
  }

  #failure(ref: Reference, key: string, err: unknown): void {
    this.stats.failed++;
    this.#warn(`Cannot use section ${key.slice(0, 12)} of the remote cache ${ref.expanded}, building it here`, err);
  }

  /** Runs `fn` when fewer than MEMBER_DOWNLOADS others run. */
  async #slot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#running >= MEMBER_DOWNLOADS) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running++;
    try {
      return await fn();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }

  async put(key: string, file: string, record: SegmentRecord, made: { digest: string; size: number }): Promise<string> {
    const path = await this.#o.local.put(key, file, record, made);
    this.#used.add(key);
    return path;
  }

  async evict(key: string, why: string): Promise<void> {
    this.#used.delete(key);
    await this.#o.local.evict(key, why);
  }

  /**
   * The TOC store a build uses: `local`'s (store/image-tocs.ts), then the --cache-from indexes' TOC entries
   * (each stored locally once it verifies); every TOC read or made through it is what --cache-to exports.
   * A remote TOC that fails (registry fault, wrong digest, not the one for its key) is warned about and
   * counts as absent: the build reads the image's layers, as without a remote cache.
   */
  tocStore(local: TocStore | undefined): TocStore {
    const note = (key: string, value: unknown): void => {
      this.#tocsUsed.set(key, Buffer.from(JSON.stringify(value)));
    };
    return {
      get: async (key) => {
        const saved = await local?.get(key).catch(() => undefined);
        if (saved !== undefined) {
          note(key, saved);
          return saved;
        }
        if (!KEY.test(key)) return undefined;
        for (const { ref, index } of await this.#fromIndexes()) {
          const entry = index.tocs.get(key);
          if (entry === undefined) continue;
          try {
            const value = await this.#downloadToc(ref, key, entry);
            this.stats.tocsDownloaded++;
            this.#o.reporter.emit({
              type: 'debug',
              message: `table of contents ${key.slice(0, 12)} downloaded from ${ref.expanded}`,
            });
            await local?.put(key, value).catch(() => {});
            note(key, value);
            return value;
          } catch (err) {
            this.#o.signal?.throwIfAborted();
            this.#warn(
              `Cannot use table of contents ${key.slice(0, 12)} of the remote cache ${ref.expanded}, reading the image's layers`,
              err,
            );
          }
        }
        return undefined;
      },
      put: async (key, value) => {
        if (KEY.test(key)) note(key, value);
        await local?.put(key, value);
      },
    };
  }

  /** TOC entry `key`'s manifest and JSON, each verified against its digest. */
  async #downloadToc(ref: Reference, key: string, entry: Descriptor): Promise<unknown> {
    const ctx = pullContext(ref);
    const manifest = await this.#entryManifest(ctx, entry, TOC_KEY_ANNOTATION, key);
    const layer = manifest.layers.find((l) => l.mediaType === TOC_MEDIA_TYPE);
    if (layer === undefined) throw new Error(`entry ${entry.digest} lacks its table of contents`);
    return JSON.parse((await this.#blob(ctx, layer, 'a table of contents')).toString('utf8')) as unknown;
  }

  async #pushToc(ctx: CallContext, key: string, bytes: Buffer): Promise<Descriptor> {
    const layer: Descriptor = { mediaType: TOC_MEDIA_TYPE, digest: digestOf(bytes), size: bytes.length };
    await this.#client.pushBlob(ctx, layer, bytes);
    return this.#pushEntryManifest(ctx, CACHE_TOC_TYPE, [layer], { [TOC_KEY_ANNOTATION]: key }, tocTagOf(key));
  }

  /** Pushes an entry's manifest (its layers already pushed, an empty config) under `tag`; returns its descriptor. */
  async #pushEntryManifest(
    ctx: CallContext,
    artifactType: string,
    layers: Descriptor[],
    annotations: Record<string, string>,
    tag: string,
  ): Promise<Descriptor> {
    await this.#client.pushBlob(ctx, EMPTY_DESCRIPTOR, EMPTY_CONFIG);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OCI_MANIFEST,
        artifactType,
        config: EMPTY_DESCRIPTOR,
        layers,
        annotations,
      }),
    );
    const digest = await this.#putManifest(ctx, manifest, MediaType.OCI_MANIFEST, tag);
    return { mediaType: MediaType.OCI_MANIFEST, digest, size: manifest.length };
  }

  /** Entry `entry`'s manifest (verified against its digest), which must name `key` in its `annotation`. */
  async #entryManifest(ctx: CallContext, entry: Descriptor, annotation: string, key: string): Promise<ImageManifest> {
    const fetched = await this.#client.fetchManifest(ctx, entry.digest, entry);
    const manifest = JSON.parse(fetched.bytes.toString('utf8')) as ImageManifest;
    if (manifest.annotations?.[annotation] !== key)
      throw new Error(`entry ${entry.digest} is not the one for this key`);
    return manifest;
  }

  async #blob(ctx: CallContext, d: Descriptor, what: string): Promise<Buffer> {
    return buffer(
      verifyStream(await this.#client.openBlob(ctx, d), d.digest, d.size, {
        subject: `${what} of ${ctx.ref.expanded}`,
      }),
    );
  }

  /**
   * Fetches entry `key`'s manifest, record and blobs (verified), and starts the download of its member into
   * the local section cache; `ready` settles when the member is there (verified) or has failed.
   */
  async #download(ref: Reference, key: string, entry: Descriptor): Promise<CachedMember> {
    const ctx = pullContext(ref);
    const manifest = await this.#entryManifest(ctx, entry, KEY_ANNOTATION, key);
    const member = manifest.layers.find((l) => l.mediaType === MEMBER_MEDIA_TYPE);
    const recordDesc = manifest.layers.find((l) => l.mediaType === RECORD_MEDIA_TYPE);
    if (member === undefined || recordDesc === undefined)
      throw new Error(`entry ${entry.digest} lacks its member or record`);
    const blobLayers = manifest.layers.filter((x) => x.mediaType === BLOB_MEDIA_TYPE);
    const names = blobLayers.map((l) => {
      const name = l.annotations?.[TITLE];
      if (name === undefined || !/^[a-z0-9-]+$/.test(name))
        throw new Error(`entry ${entry.digest} has a blob without a proper name`);
      return name;
    });
    const [recordBytes, ...blobBytes] = await Promise.all([
      this.#blob(ctx, recordDesc, 'a section record'),
      ...blobLayers.map((l, i) => this.#blob(ctx, l, `section blob ${names[i] ?? ''}`)),
    ]);
    const record = JSON.parse((recordBytes ?? Buffer.alloc(0)).toString('utf8')) as SegmentRecord;
    const blobs: Record<string, Buffer> = {};
    names.forEach((name, i) => (blobs[name] = blobBytes[i] ?? Buffer.alloc(0)));
    const section = names.length === 0 ? record.section : { ...record.section, blobs };
    const full: SegmentRecord = { ...record, section };
    const ready = this.#slot(() => this.#member(ctx, key, member, full)).then(
      (path) => {
        this.stats.downloaded++;
        this.#o.reporter.emit({
          type: 'debug',
          message: `section ${key.slice(0, 12)} downloaded from ${ref.expanded}`,
        });
        return path;
      },
      (err: unknown) => {
        if (this.#o.signal?.aborted === true) throw err;
        this.#failure(ref, key, err);
        this.#failedKeys.add(key);
        this.#used.delete(key);
        throw new DamagedSegment(key);
      },
    );
    ready.catch(() => {}); // the initrd writer awaits it; a build that fails earlier may not
    return { path: memberPath(this.#o.cacheDir, key), record: full, digest: member.digest, ready };
  }

  /** Streams the member (verified as it streams) into a temp file, then hands it to the local section cache. */
  async #member(ctx: CallContext, key: string, member: Descriptor, record: SegmentRecord): Promise<string> {
    const dir = sectionsDir(this.#o.cacheDir);
    await mkdir(dir, { recursive: true });
    const temp = join(dir, `.tmp-remote-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      const body = verifyStream(await this.#client.openBlob(ctx, member), member.digest, member.size, {
        subject: `section member ${key.slice(0, 12)} of ${ctx.ref.expanded}`,
      });
      await pipeline(body, createWriteStream(temp, { flags: 'wx', highWaterMark: 1 << 20 }));
      return await this.#o.local.put(key, temp, record, { digest: member.digest, size: member.size });
    } finally {
      await rm(temp, { force: true });
    }
  }

  /** Pushes what this build used to --cache-to (entries the remote index lacks), then brings the index up to date. */
  async export(): Promise<void> {
    const to = this.#o.to;
    if (to === undefined) return;
    this.#o.reporter.emit({ type: 'info', message: `Push sections to the remote cache ${to.expanded}` });
    const ctx = pushContext(to);
    const tag = to.tag ?? 'latest';
    const current = await this.#readIndex(ctx, tag);
    const mine = emptyIndex();
    for (const key of [...this.#used].sort()) {
      const known = current.entries.get(key);
      if (known !== undefined) {
        mine.entries.set(key, known);
        continue;
      }
      const local = await this.#withKeptBlobs(key, await this.#o.local.get(key));
      if (local === undefined) continue;
      mine.entries.set(key, await this.#pushEntry(ctx, key, local));
      this.stats.pushed++;
    }
    for (const [key, bytes] of [...this.#tocsUsed].sort(([a], [b]) => a.localeCompare(b))) {
      const known = current.tocs.get(key);
      if (known !== undefined) mine.tocs.set(key, known);
      else {
        mine.tocs.set(key, await this.#pushToc(ctx, key, bytes));
        this.stats.tocsPushed++;
      }
    }
    await this.#publishIndex(ctx, tag, mine);
    this.#o.reporter.emit({
      type: 'info',
      message: `Remote cache ${to.expanded}: pushed ${this.stats.pushed} of ${this.#used.size} sections`,
    });
    if (this.#tocsUsed.size > 0)
      this.#o.reporter.emit({
        type: 'info',
        message: `Remote cache ${to.expanded}: pushed ${this.stats.tocsPushed} of ${this.#tocsUsed.size} tables of contents`,
      });
  }

  /**
   * The descriptor a listed entry tag points at, or undefined while another pusher rewrites that tag (the
   * registry then briefly answers 404 for a tag it lists); the caller's next round picks it up.
   */
  async #resolveTag(ctx: CallContext, tag: string): Promise<Descriptor | undefined> {
    try {
      return await this.#client.resolve({ ...ctx, action: 'pull' }, tag);
    } catch (err) {
      if (isMobyError(err) && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
  }

  async #readIndex(ctx: CallContext, tag: string): Promise<RemoteIndex> {
    try {
      return parseIndex((await this.#client.fetchManifest({ ...ctx, action: 'pull' }, tag)).bytes);
    } catch (err) {
      if (isMobyError(err) && err.code === 'NOT_FOUND') return emptyIndex();
      throw err;
    }
  }

  /**
   * The local entry `local` with the blobs the local store handed over unread (store/sections.ts `KeptBlob`)
   * read into its record's blobs, each checked against its digest; undefined when one does not match (the
   * entry is then evicted, not pushed).
   */
  async #withKeptBlobs(key: string, local: CachedMember | undefined): Promise<CachedMember | undefined> {
    if (local?.record.section.kept === undefined) return local;
    const { kept, ...section } = local.record.section;
    const blobs = { ...section.blobs };
    for (const [name, blob] of Object.entries(kept)) {
      const bytes = await readKeptBlob(blob).catch(() => undefined);
      if (bytes === undefined) {
        await this.#o.local.evict(key, `its ${name} does not match its digest`);
        return undefined;
      }
      blobs[name] = bytes;
    }
    return { ...local, record: { ...local.record, section: { ...section, blobs } } };
  }

  async #pushEntry(ctx: CallContext, key: string, local: CachedMember): Promise<Descriptor> {
    const { blobs = {}, ...section } = local.record.section;
    const recordBytes = Buffer.from(JSON.stringify({ ...local.record, section }));
    const memberSize = (await stat(local.path)).size;
    const member: Descriptor = { mediaType: MEMBER_MEDIA_TYPE, digest: local.digest as Digest, size: memberSize };
    const recordDesc: Descriptor = {
      mediaType: RECORD_MEDIA_TYPE,
      digest: digestOf(recordBytes),
      size: recordBytes.length,
    };
    const blobDescs = Object.entries(blobs)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, b]) => ({
        d: { mediaType: BLOB_MEDIA_TYPE, digest: digestOf(b), size: b.length, annotations: { [TITLE]: name } },
        b,
      }));
    await this.#client.pushBlob(ctx, member, () => createReadStream(local.path));
    await this.#client.pushBlob(ctx, recordDesc, recordBytes);
    for (const { d, b } of blobDescs) await this.#client.pushBlob(ctx, d, b);
    const layers = [member, recordDesc, ...blobDescs.map((x) => x.d)];
    return this.#pushEntryManifest(ctx, CACHE_SECTION_TYPE, layers, { [KEY_ANNOTATION]: key }, tagOf(key));
  }

  /**
   * PUTs a manifest, again (up to 5 times, after a short random wait) while the registry answers that a blob
   * or manifest it references is unknown although it was pushed: the CNCF registry rewrites a repository's
   * link file in place when another writer pushes the same blob or manifest at the same moment, so a
   * concurrent check can briefly find it missing (seen with 4 runners pushing one cache at once).
   */
  async #putManifest(ctx: CallContext, bytes: Buffer, mediaType: string, tag: string): Promise<Digest> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#client.pushManifest(ctx, bytes, mediaType, tag);
      } catch (err) {
        const transient =
          err instanceof RegistryError &&
          err.status === 400 &&
          err.registryCodes.some((c) => c === 'MANIFEST_BLOB_UNKNOWN' || c === 'MANIFEST_UNKNOWN');
        if (!transient || attempt >= 5) throw err;
        this.#o.signal?.throwIfAborted();
        await delay(50 * attempt + Math.floor(Math.random() * 100));
      }
    }
  }

  /**
   * Writes the index as the union of what it lists, `mine`, and every entry tag of the repository; then
   * lists the tags again and repeats while some entry tag is missing from what it wrote (another pusher
   * wrote an older union meanwhile). Entry tags are the truth: the last writer's index lists them all.
   */
  async #publishIndex(ctx: CallContext, tag: string, mine: RemoteIndex): Promise<void> {
    for (let attempt = 1; attempt <= 20; attempt++) {
      const now = await this.#readIndex(ctx, tag);
      const union: RemoteIndex = {
        entries: new Map([...now.entries, ...mine.entries]),
        tocs: new Map([...now.tocs, ...mine.tocs]),
      };
      for (const t of await this.#client.listTags(ctx)) {
        const listed = listedBy(union, t);
        if (listed === undefined || listed.map.has(listed.key)) continue;
        const found = await this.#resolveTag(ctx, t);
        if (found !== undefined) listed.map.set(listed.key, found);
      }
      await this.#putManifest(ctx, indexBytes(union), MediaType.OCI_INDEX, tag);
      const after = await this.#client.listTags(ctx);
      const written = await this.#readIndex(ctx, tag);
      const missing = after.filter((t) => {
        const listed = listedBy(written, t);
        return listed !== undefined && !listed.map.has(listed.key);
      });
      const lost = [
        ...[...mine.entries.keys()].filter((k) => !written.entries.has(k)),
        ...[...mine.tocs.keys()].filter((k) => !written.tocs.has(k)),
      ];
      if (missing.length === 0 && lost.length === 0) return;
      await delay(20 + Math.floor(Math.random() * 80 * attempt));
    }
    this.#warn(
      `The remote cache index ${ctx.ref.expanded} is still being rewritten by other builds; its entries are all pushed`,
    );
  }
}
