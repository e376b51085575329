/**
 * Pulling an image into the cache: resolve the tag (HEAD), store the root manifest and — as LinuxKit's
 * `layout.WriteIndex` does — every child manifest of an index, then the chosen platform's config and layers
 * and its attestations' layers; finally point the ref's index.json entry at the root. Every blob is verified
 * while it is written; each is downloaded once even by parallel processes (per-blob lock).
 */
import { stat } from 'node:fs/promises';
import type { Digest } from '../oci/digest.ts';
import { manifestSelector, withDigest, type Reference } from '../oci/reference.ts';
import { REF_NAME_ANNOTATION, type Descriptor, type ImageConfig, type ImageManifest } from '../oci/types.ts';
import { storeImageSource, type Attestation, type StoreImageSource } from './store-source.ts';
import {
  createRegistryClient,
  pullContext,
  type CallContext,
  type RegistryClient,
  type RegistryClientOptions,
} from '../registry/client.ts';
import { MobyError } from '../util/errors.ts';
import { mapLimit } from '../util/map-limit.ts';
import type { Reporter } from '../util/reporter.ts';
import { attestationsFor, sourceFromCache } from './cached.ts';
import { openImageTocs, type JsonMemo } from './image-tocs.ts';
import { checkBlob, repulledMessage, type Damage } from './integrity.ts';
import { isTarLayer, layerTocTee, putLayerToc } from './layer-toc.ts';
import { refDescriptors, type Layout } from './layout.ts';
import type { Lease } from './lease.ts';
import { parseConfig, parseManifest, type ParsedManifest } from './manifest.ts';
import { selectManifest } from './platform.ts';
import type { GetImageOptions } from './types.ts';

/** Client settings the store adds to GetImageOptions.registry (tests shorten retries; callers pass credentials). */
export type ClientTuning = Omit<RegistryClientOptions, 'registry' | 'signal'>;

interface Pull {
  layout: Layout;
  client: RegistryClient;
  ctx: CallContext;
  progress: Progress;
  reporter: Reporter;
  lease: Lease | undefined;
  /** Cached blobs found damaged (by the caller or while pulling): fetched again, replacing the cached copy. */
  damaged: Map<Digest, Damage>;
  /** Where each fetched layer's table of contents goes, made from its bytes on their way in (layer-toc.ts). */
  tocs: JsonMemo | undefined;
}

export interface PullOptions {
  /** Every blob the pull reads or writes is added to it (under the index lock) before it is used. */
  lease?: Lease;
  /** Blobs the caller found damaged: fetched even when present; each replaced one is reported. */
  damaged?: Damage[];
}

/**
 * Fetches what is missing or damaged for `ref` on `opts.platform`, stores it, updates index.json; returns the
 * cached image. A cached blob the pull relies on is checked first (integrity.ts); a damaged one is fetched
 * again and replaced, with a `re-pulled …` warning. An index.json that is garbage is set aside (warning).
 */
export async function pullImage(
  layout: Layout,
  ref: Reference,
  opts: GetImageOptions,
  tuning: ClientTuning = {},
  po: PullOptions = {},
): Promise<StoreImageSource> {
  const mode = opts.layers ?? 'now';
  // a pull that returns before its layers are fetched can be stopped on its own (PendingPull.abort)
  const stop = new AbortController();
  const signal = opts.signal === undefined ? stop.signal : AbortSignal.any([opts.signal, stop.signal]);
  const client = createRegistryClient({ ...tuning, registry: opts.registry, signal });
  const p: Pull = {
    layout,
    client,
    ctx: pullContext(ref),
    progress: new Progress(opts.reporter, ref.expanded),
    reporter: opts.reporter,
    lease: po.lease,
    damaged: new Map((po.damaged ?? []).map((d) => [d.digest, d])),
    tocs: layout.readOnly || opts.layerTocs === false ? undefined : await openImageTocs(layout.dir),
  };
  let handedOver = false;
  try {
    const root =
      ref.digest !== undefined ? await digestRoot(p, ref.digest) : await p.client.resolve(p.ctx, manifestSelector(ref));
    await lease(p, [root.digest]);
    if (mode !== 'now') {
      const source = await deferredSource(p, { ref, root, opts, stop, fetchAll: mode === 'prefetch' });
      handedOver = true;
      return source;
    }
    for (let round = 1; ; round++) {
      const needed = await storeManifests(p, root, opts);
      await fetchBlobs(p, needed.blobs);
      if (needed.blobs[0] !== undefined) await readConfig(p, needed.blobs[0]);
      if (await nameImage(p, ref, root, needed, opts)) break;
      if (round >= 3)
        throw new MobyError(
          `${p.ctx.subject}: blobs keep vanishing from the cache during the pull (is \`mobyts cache clean\` running?)`,
          { code: 'STORE' },
        );
    }
    p.progress.finish();
    const source = await sourceFromCache(layout, {
      ref,
      root,
      platform: opts.platform,
      subject: p.ctx.subject,
      ...(po.lease === undefined ? {} : { lease: po.lease }),
    });
    if (source === undefined) {
      throw new MobyError(
        `${p.ctx.subject}: blobs vanished from the cache during the pull (was \`mobyts cache rm\` running?)`,
        { code: 'STORE', hint: 'run the command again' },
      );
    }
    return source;
  } finally {
    if (!handedOver) await client.close();
  }
}

/** The stored config (a configuration the build would misread is refused before the image is named). */
async function readConfig(p: Pull, config: Descriptor): Promise<ImageConfig> {
  return parseConfig(await p.layout.readBlob(config.digest, config.size), p.ctx.subject);
}

/**
 * Points `ref`'s index.json entry at `root` when every blob `needed` lists is present (under the index lock,
 * which gc holds too: once named, nothing of this image is collected); false when one has vanished.
 */
function nameImage(p: Pull, ref: Reference, root: Descriptor, needed: Needed, opts: GetImageOptions): Promise<boolean> {
  return p.layout.updateIndex(
    async (index) => {
      if (!(await allPresent(p.layout, [...needed.manifests, ...needed.blobs]))) return false;
      index.manifests = index.manifests.filter((d) => !refDescriptors(index, ref.expanded).includes(d));
      index.manifests.push({
        mediaType: root.mediaType,
        digest: root.digest,
        size: root.size,
        annotations: { [REF_NAME_ANNOTATION]: ref.expanded },
      });
      return true;
    },
    {
      onDamaged: (err, savedAs) =>
        opts.reporter.emit({
          type: 'warn',
          message: `${err.message}: set it aside as "${savedAs}"; images are fetched again as builds need them`,
        }),
    },
  );
}

/**
 * The source of an image whose manifests and config are stored but whose other blobs (layers, attestation
 * layers) are fetched as they are read (`fetchAll`: also in the background, in order, from now on). Each blob
 * is fetched once, verified as it is written, like any pull; reading it waits for it. `pull.finish` names the
 * image once it is whole.
 */
async function deferredSource(
  p: Pull,
  a: { ref: Reference; root: Descriptor; opts: GetImageOptions; stop: AbortController; fetchAll: boolean },
): Promise<StoreImageSource> {
  const needed = await storeManifests(p, a.root, a.opts);
  const [config, ...rest] = needed.blobs;
  if (config === undefined) throw new MobyError(`${p.ctx.subject}: the manifest names no config`, { code: 'REGISTRY' });
  // every blob leased once, as one pull does; each is then fetched when first read (or in the background)
  await lease(
    p,
    needed.blobs.map((d) => d.digest),
  );
  await fetchLeased(p, [config]);
  const parsedConfig = await readConfig(p, config);
  const byDigest = new Map(rest.map((d) => [d.digest, d]));
  const fetches = new Map<Digest, Promise<void>>();
  const ensure = (d: Descriptor): Promise<void> => {
    let f = fetches.get(d.digest);
    if (f === undefined) {
      f = fetchLeased(p, [d]);
      f.catch(() => {}); // the reader (or finish) that waits for it gets the error
      fetches.set(d.digest, f);
    }
    return f;
  };
  const background = a.fetchAll ? mapLimit(rest, 3, ensure) : Promise.resolve([]);
  background.catch(() => {});
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await Promise.allSettled([background, ...fetches.values()]);
    await p.client.close();
  };
  return storeImageSource({
    ref: a.ref.digest === a.root.digest ? a.ref : withDigest(a.ref, a.root.digest),
    rootDescriptor: a.root,
    platform: a.opts.platform,
    manifestDigest: needed.image.chosen.digest,
    manifest: needed.image.manifest,
    config: parsedConfig,
    attestations: needed.image.attestations,
    openBlob: async (digest, size) => {
      const d = byDigest.get(digest);
      if (d !== undefined) await ensure(d);
      return p.layout.openBlob(digest, size);
    },
    pull: {
      finish: async (all) => {
        try {
          if (all) await Promise.all(rest.map(ensure));
          else await Promise.allSettled(fetches.values());
          if (!(await allPresent(p.layout, [...needed.manifests, ...needed.blobs]))) return false;
          const named = await nameImage(p, a.ref, a.root, needed, a.opts);
          if (named) p.progress.finish();
          return named;
        } finally {
          await close();
        }
      },
      abort: async () => {
        a.stop.abort();
        await close();
      },
    },
  });
}

/** Adds `digests` to the pull's lease under the index lock (gc holds it too), before they are read or written. */
async function lease(p: Pull, digests: Digest[]): Promise<void> {
  const l = p.lease;
  if (l !== undefined) await p.layout.withIndexLock(() => l.add(digests));
}

/** True when the cached blob for `d` can be used; a damaged one is recorded for fetching again. */
async function usable(p: Pull, d: Pick<Descriptor, 'digest' | 'size'>): Promise<boolean> {
  if (p.damaged.has(d.digest)) return false;
  if (!(await p.layout.hasBlob(d.digest))) return false;
  const damage = await checkBlob(p.layout.dir, p.layout.blobPath(d.digest), d);
  if (damage === undefined) return true;
  p.damaged.set(d.digest, damage);
  return false;
}

/** Reports a damaged blob the pull has just replaced with a good copy. */
function replaced(p: Pull, d: Digest): void {
  const damage = p.damaged.get(d);
  if (damage === undefined) return;
  p.damaged.delete(d);
  p.reporter.emit({ type: 'warn', message: repulledMessage(damage) });
}

async function digestRoot(p: Pull, digest: Digest): Promise<Descriptor> {
  const size = await stat(p.layout.blobPath(digest)).then(
    (st) => st.size,
    () => undefined,
  );
  if (size !== undefined && (await usable(p, { digest, size }))) {
    const bytes = await p.layout.readBlob(digest);
    const parsed = parseManifest(bytes, '', p.ctx.subject);
    const mediaType = (parsed.kind === 'index' ? parsed.index.mediaType : parsed.manifest.mediaType) ?? '';
    return { mediaType, digest, size: bytes.length };
  }
  return p.client.resolve(p.ctx, digest);
}

/** Stores a manifest blob (fetching it unless cached) and parses it. */
async function storeManifest(p: Pull, d: Descriptor): Promise<ParsedManifest> {
  if (await usable(p, d)) return parseManifest(await p.layout.readBlob(d.digest, d.size), d.mediaType, p.ctx.subject);
  const { bytes } = await p.client.fetchManifest(p.ctx, d.digest, d);
  await p.layout.writeBlob(
    bytes,
    { digest: d.digest, size: d.size },
    { subject: p.ctx.subject, replace: p.damaged.has(d.digest) },
  );
  replaced(p, d.digest);
  return parseManifest(bytes, d.mediaType, p.ctx.subject);
}

interface Needed {
  /** Manifests stored (root, every child of an index). */
  manifests: Descriptor[];
  /** Blobs the platform needs: config (first), layers, and its attestations' config and layers. */
  blobs: Descriptor[];
  /** The platform's manifest and its attestations. */
  image: { chosen: Descriptor; manifest: ImageManifest; attestations: Attestation[] };
}

/** Stores the root manifest and, for an index, every child manifest; returns what else the platform needs. */
async function storeManifests(p: Pull, root: Descriptor, opts: GetImageOptions): Promise<Needed> {
  const parsed = await storeManifest(p, root);
  if (parsed.kind === 'manifest')
    return {
      manifests: [root],
      blobs: [parsed.manifest.config, ...parsed.manifest.layers],
      image: { chosen: root, manifest: parsed.manifest, attestations: [] },
    };
  const chosen = selectManifest(parsed.index.manifests, opts.platform, p.ctx.subject);
  await lease(
    p,
    parsed.index.manifests.map((d) => d.digest),
  );
  const children = await mapLimit(parsed.index.manifests, 4, (d) => storeManifest(p, d));
  const byDigest = new Map(parsed.index.manifests.map((d, i) => [d.digest, children[i]]));
  const m = byDigest.get(chosen.digest);
  if (m?.kind !== 'manifest') throw nestedIndex(p.ctx.subject, parsed.index.manifests.indexOf(chosen));
  const blobs = [m.manifest.config, ...m.manifest.layers];
  const attestations: Attestation[] = [];
  for (const att of attestationsFor(parsed.index.manifests, chosen.digest)) {
    const a = byDigest.get(att.digest);
    if (a?.kind !== 'manifest') continue;
    blobs.push(a.manifest.config, ...a.manifest.layers);
    attestations.push({ descriptor: att, manifest: a.manifest });
  }
  return {
    manifests: [root, ...parsed.index.manifests],
    blobs,
    image: { chosen, manifest: m.manifest, attestations },
  };
}

/** An index whose entry for the platform is another index: OCI allows it, LinuxKit and mobyts read one level. */
export function nestedIndex(subject: string, entry: number): MobyError {
  return new MobyError(
    `${subject}: manifests[${entry}], the entry for the platform, is itself an index: indexes nested 2 deep, mobyts reads at most 1 level`,
    { code: 'REGISTRY' },
  );
}

async function allPresent(layout: Layout, descs: Descriptor[]): Promise<boolean> {
  for (const d of descs) if (!(await layout.hasBlob(d.digest))) return false;
  return true;
}

async function fetchBlobs(p: Pull, descs: Descriptor[]): Promise<void> {
  await lease(
    p,
    descs.map((d) => d.digest),
  );
  await fetchLeased(p, descs);
}

/** Fetches what of `descs` (already leased) is missing or damaged, 3 at a time. */
async function fetchLeased(p: Pull, descs: Descriptor[]): Promise<void> {
  const missing: Descriptor[] = [];
  for (const d of descs) if (!missing.some((m) => m.digest === d.digest) && !(await usable(p, d))) missing.push(d);
  p.progress.expect(missing.reduce((n, d) => n + d.size, 0));
  await mapLimit(missing, 3, (d) => fetchBlob(p, d));
}

async function fetchBlob(p: Pull, d: Descriptor): Promise<void> {
  await p.layout.withBlobLock(d.digest, async () => {
    const replace = p.damaged.has(d.digest);
    // another process got it (or replaced the damaged copy meanwhile)
    if (
      (await p.layout.hasBlob(d.digest)) &&
      (!replace || (await checkBlob(p.layout.dir, p.layout.blobPath(d.digest), d)) === undefined)
    ) {
      replaced(p, d.digest);
      return p.progress.add(d.size);
    }
    const stream = await p.client.openBlob(p.ctx, d);
    const toc = p.tocs !== undefined && isTarLayer(d) ? layerTocTee(`${p.ctx.subject}: layer ${d.digest}`) : undefined;
    let got = 0;
    try {
      await p.layout.writeBlob(
        toc === undefined ? stream : toc.pass(stream),
        { digest: d.digest, size: d.size },
        {
          subject: p.ctx.subject,
          replace,
          onBytes: (n) => {
            got += n;
            p.progress.add(n);
          },
        },
      );
    } catch (err) {
      p.progress.add(-got);
      await toc?.toc();
      throw err;
    }
    // stored only now that the layer's digest is verified
    if (toc !== undefined) await putLayerToc(p.tocs, d.digest, await toc.toc());
    replaced(p, d.digest);
  });
}

/** Per-image byte progress: `progress` events at most every 100 ms, one `done` at the end. */
class Progress {
  readonly #reporter: Reporter;
  readonly #subject: string;
  readonly #start = Date.now();
  #total = 0;
  #done = 0;
  #last = 0;

  constructor(reporter: Reporter, subject: string) {
    this.#reporter = reporter;
    this.#subject = subject;
  }

  expect(bytes: number): void {
    this.#total += bytes;
  }

  add(bytes: number): void {
    this.#done += bytes;
    if (Date.now() - this.#last < 100 && this.#done < this.#total) return;
    this.#last = Date.now();
    this.#reporter.emit({
      type: 'progress',
      subject: this.#subject,
      done: this.#done,
      total: this.#total,
      unit: 'bytes',
    });
  }

  finish(): void {
    this.#reporter.emit({
      type: 'done',
      subject: this.#subject,
      bytes: this.#done,
      seconds: (Date.now() - this.#start) / 1000,
    });
  }
}
