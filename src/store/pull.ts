/**
 * Pulling an image into the cache: resolve the tag (HEAD), store the root manifest and — as LinuxKit's
 * `layout.WriteIndex` does — every child manifest of an index, then the chosen platform's config and layers
 * and its attestations' layers; finally point the ref's index.json entry at the root. Every blob is verified
 * while it is written; each is downloaded once even by parallel processes (per-blob lock).
 */
import type { Digest } from '../oci/digest.ts';
import { manifestSelector, type Reference } from '../oci/reference.ts';
import { REF_NAME_ANNOTATION, type Descriptor } from '../oci/types.ts';
import type { StoreImageSource } from './store-source.ts';
import { createRegistryClient, pullContext, type CallContext, type RegistryClient, type RegistryClientOptions } from '../registry/client.ts';
import { MobyError } from '../util/errors.ts';
import type { Reporter } from '../util/reporter.ts';
import { attestationsFor, sourceFromCache } from './cached.ts';
import { refDescriptors, type Layout } from './layout.ts';
import { parseManifest, type ParsedManifest } from './manifest.ts';
import { selectManifest } from './platform.ts';
import type { GetImageOptions } from './types.ts';

/** Client settings the store adds to GetImageOptions.registry (tests shorten retries; callers pass credentials). */
export type ClientTuning = Omit<RegistryClientOptions, 'registry' | 'signal'>;

interface Pull {
  layout: Layout;
  client: RegistryClient;
  ctx: CallContext;
  progress: Progress;
}

/** Fetches what is missing for `ref` on `opts.platform`, stores it, updates index.json; returns the cached image. */
export async function pullImage(layout: Layout, ref: Reference, opts: GetImageOptions, tuning: ClientTuning = {}): Promise<StoreImageSource> {
  const client = createRegistryClient({ ...tuning, registry: opts.registry, ...(opts.signal === undefined ? {} : { signal: opts.signal }) });
  const p: Pull = { layout, client, ctx: pullContext(ref), progress: new Progress(opts.reporter, ref.expanded) };
  try {
    const root = ref.digest !== undefined ? await digestRoot(p, ref.digest) : await p.client.resolve(p.ctx, manifestSelector(ref));
    for (let round = 1; ; round++) {
      const needed = await storeManifests(p, root, opts);
      await fetchBlobs(p, needed.blobs);
      const named = await layout.updateIndex(async (index) => {
        // gc (cache rm/clean) runs under this lock too: once named, nothing of this image is collected.
        if (!(await allPresent(layout, [...needed.manifests, ...needed.blobs]))) return false;
        index.manifests = index.manifests.filter((d) => !refDescriptors(index, ref.expanded).includes(d));
        index.manifests.push({ mediaType: root.mediaType, digest: root.digest, size: root.size, annotations: { [REF_NAME_ANNOTATION]: ref.expanded } });
        return true;
      });
      if (named) break;
      if (round >= 3) throw new MobyError(`${p.ctx.subject}: blobs keep vanishing from the cache during the pull (is \`mobyts cache clean\` running?)`, { code: 'STORE' });
    }
    p.progress.finish();
    const source = await sourceFromCache(layout, { ref, root, platform: opts.platform, subject: p.ctx.subject });
    if (source === undefined) {
      throw new MobyError(`${p.ctx.subject}: blobs vanished from the cache during the pull (was \`mobyts cache rm\` running?)`, { code: 'STORE', hint: 'run the command again' });
    }
    return source;
  } finally {
    await client.close();
  }
}

async function digestRoot(p: Pull, digest: Digest): Promise<Descriptor> {
  if (await p.layout.hasBlob(digest)) {
    const bytes = await p.layout.readBlob(digest);
    const parsed = parseManifest(bytes, '', p.ctx.subject);
    const mediaType = (parsed.kind === 'index' ? parsed.index.mediaType : parsed.manifest.mediaType) ?? '';
    return { mediaType, digest, size: bytes.length };
  }
  return p.client.resolve(p.ctx, digest);
}

/** Stores a manifest blob (fetching it unless cached) and parses it. */
async function storeManifest(p: Pull, d: Descriptor): Promise<ParsedManifest> {
  if (await p.layout.hasBlob(d.digest)) return parseManifest(await p.layout.readBlob(d.digest, d.size), d.mediaType, p.ctx.subject);
  const { bytes } = await p.client.fetchManifest(p.ctx, d.digest, d);
  await p.layout.writeBlob(bytes, { digest: d.digest, size: d.size }, { subject: p.ctx.subject });
  return parseManifest(bytes, d.mediaType, p.ctx.subject);
}

interface Needed {
  /** Manifests stored (root, every child of an index). */
  manifests: Descriptor[];
  /** Blobs the platform needs: config, layers, and its attestations' config and layers. */
  blobs: Descriptor[];
}

/** Stores the root manifest and, for an index, every child manifest; returns what else the platform needs. */
async function storeManifests(p: Pull, root: Descriptor, opts: GetImageOptions): Promise<Needed> {
  const parsed = await storeManifest(p, root);
  if (parsed.kind === 'manifest') return { manifests: [root], blobs: [parsed.manifest.config, ...parsed.manifest.layers] };
  const chosen = selectManifest(parsed.index.manifests, opts.platform, p.ctx.subject);
  const children = await mapLimit(parsed.index.manifests, 4, (d) => storeManifest(p, d));
  const byDigest = new Map(parsed.index.manifests.map((d, i) => [d.digest, children[i]]));
  const m = byDigest.get(chosen.digest);
  if (m?.kind !== 'manifest') throw new MobyError(`${p.ctx.subject}: the manifest for the platform is itself an index`, { code: 'REGISTRY' });
  const blobs = [m.manifest.config, ...m.manifest.layers];
  for (const att of attestationsFor(parsed.index.manifests, chosen.digest)) {
    const a = byDigest.get(att.digest);
    if (a?.kind === 'manifest') blobs.push(a.manifest.config, ...a.manifest.layers);
  }
  return { manifests: [root, ...parsed.index.manifests], blobs };
}

async function allPresent(layout: Layout, descs: Descriptor[]): Promise<boolean> {
  for (const d of descs) if (!await layout.hasBlob(d.digest)) return false;
  return true;
}

async function fetchBlobs(p: Pull, descs: Descriptor[]): Promise<void> {
  const missing: Descriptor[] = [];
  for (const d of descs) if (!missing.some((m) => m.digest === d.digest) && !await p.layout.hasBlob(d.digest)) missing.push(d);
  p.progress.expect(missing.reduce((n, d) => n + d.size, 0));
  await mapLimit(missing, 3, (d) => fetchBlob(p, d));
}

async function fetchBlob(p: Pull, d: Descriptor): Promise<void> {
  await p.layout.withBlobLock(d.digest, async () => {
    if (await p.layout.hasBlob(d.digest)) return p.progress.add(d.size); // another process got it
    const stream = await p.client.openBlob(p.ctx, d);
    let got = 0;
    try {
      await p.layout.writeBlob(stream, { digest: d.digest, size: d.size }, { subject: p.ctx.subject, onBytes: (n) => { got += n; p.progress.add(n); } });
    } catch (err) {
      p.progress.add(-got);
      throw err;
    }
  });
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order; first failure rejects. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
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
    this.#reporter.emit({ type: 'progress', subject: this.#subject, done: this.#done, total: this.#total, unit: 'bytes' });
  }

  finish(): void {
    this.#reporter.emit({ type: 'done', subject: this.#subject, bytes: this.#done, seconds: (Date.now() - this.#start) / 1000 });
  }
}
