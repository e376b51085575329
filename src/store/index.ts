/**
 * The image store (LinuxKit's cache, docs/linuxkit-behaviour.md#cache): `openStore(dir)` opens or creates the OCI
 * layout and returns the Store (types.ts) plus the maintenance operations `mobyts cache` uses.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { Digest } from '../oci/digest.ts';
import type { Reference } from '../oci/reference.ts';
import { REF_NAME_ANNOTATION, type Descriptor, type Platform } from '../oci/types.ts';
import type { StoreImageSource } from './store-source.ts';
import { isMobyError, MobyError } from '../util/errors.ts';
import { inspectCached, sourceFromCache } from './cached.ts';
import { damagedError, type Damage } from './integrity.ts';
import { DamagedIndexError, openLayout, refDescriptors, type Layout } from './layout.ts';
import { Lease } from './lease.ts';
import { makeLayerTocs } from './layer-toc.ts';
import type { ClientTuning } from './pull.ts';
import { formatPlatform } from './platform.ts';
import type { GetImageOptions, Store } from './types.ts';

export { platformFor, formatPlatform, selectManifest } from './platform.ts';
export type { ClientTuning } from './pull.ts';
export type { Attestation, StoreImageSource } from './store-source.ts';

export interface StoreOptions {
  /** Registry client settings (credentials, retry policy, timeouts); defaults suit the CLI. */
  client?: ClientTuning;
}

/** The store, with image-returning calls narrowed to StoreImageSource (adds attestations, root descriptor). */
export interface ImageStore extends Store {
  getImage(ref: Reference, opts: GetImageOptions): Promise<StoreImageSource>;
  getCachedImage(ref: Reference, platform: Platform): Promise<StoreImageSource | undefined>;
  /** The underlying layout (maintenance, archives). */
  readonly layout: Layout;
  /** Makes the missing tables of contents of the layers of `roots` (store/layer-toc.ts): after `pkg build`. */
  makeLayerTocs(roots: readonly Descriptor[]): Promise<void>;
  /**
   * Ends this store's lease: until then every blob of every image getImage/getCachedImage returned is kept
   * by `cache rm`/`cache clean` (lease.ts). Call it when the build is done with the images.
   */
  close(): Promise<void>;
}

/** `$LINUXKIT_CACHE`, else `~/.linuxkit/cache` (LinuxKit's default, so both tools share one cache). */
export function defaultCacheDir(env: Record<string, string | undefined> = process.env): string {
  const fromEnv = env.LINUXKIT_CACHE;
  return fromEnv !== undefined && fromEnv !== '' ? resolve(fromEnv) : join(env.HOME ?? homedir(), '.linuxkit', 'cache');
}

/** Opens the store at `dir` (default defaultCacheDir()), creating the layout when missing. */
export async function openStore(dir?: string, options: StoreOptions = {}): Promise<ImageStore> {
  const layout = await openLayout(resolve(dir ?? defaultCacheDir()));
  const lease = new Lease(layout.dir, layout.readOnly);
  const getCachedImage = (ref: Reference, platform: Platform): Promise<StoreImageSource | undefined> =>
    sourceFromCache(layout, { ref, platform, subject: `Cannot pull "${ref.expanded}"`, lease });
  return {
    dir: layout.dir,
    layout,
    getCachedImage,
    getImage: async (ref, opts) => {
      const source = await getImage(layout, ref, opts, { lease, tuning: options.client ?? {} });
      warnForeignArch(source, opts);
      return source;
    },
    close: () => lease.release(),
    makeLayerTocs: (roots) => makeLayerTocs(layout, roots),
    putBlob: (data, expected) => layout.writeBlob(data, expected),
    hasBlob: (d: Digest) => layout.hasBlob(d),
    openBlob: (d: Digest, size?: number): Promise<Readable> => layout.openBlob(d, size),
    setRef: (refName: string, descriptor: Descriptor) =>
      layout.updateIndex((index) => {
        index.manifests = index.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== refName);
        index.manifests.push({
          ...descriptor,
          annotations: { ...descriptor.annotations, [REF_NAME_ANNOTATION]: refName },
        });
      }),
    getRef: async (refName: string) => refDescriptors(await layout.readIndex(), refName)[0],
  };
}

/**
 * The cache first (unless `pull`); when the cached copy is damaged (integrity.ts) or index.json is garbage,
 * a pull fetches what is needed again; if that fails too, the error names the damage and says what to run.
 */
async function getImage(
  layout: Layout,
  ref: Reference,
  opts: GetImageOptions,
  s: { lease: Lease; tuning: ClientTuning },
): Promise<StoreImageSource> {
  let damage: Damage[] = [];
  let damagedIndex: DamagedIndexError | undefined;
  if (!opts.pull) {
    try {
      const state = await inspectCached(layout, {
        ref,
        platform: opts.platform,
        subject: `Cannot pull "${ref.expanded}"`,
        lease: s.lease,
      });
      if (state.kind === 'complete') return state.source;
      if (state.kind === 'damaged') damage = state.damage;
    } catch (err) {
      if (err instanceof DamagedIndexError) damagedIndex = err;
      else if (!isMobyError(err)) throw err;
      // other cache problems (a cached index without this platform…): the registry may know better
    }
  }
  try {
    // The registry client (undici) is loaded only when something is pulled: cached builds never load it.
    const { pullImage } = await import('./pull.ts');
    return await pullImage(layout, ref, opts, s.tuning, { lease: s.lease, damaged: damage });
  } catch (err) {
    if (damage.length > 0) throw damagedError(ref.expanded, damage, err);
    if (damagedIndex !== undefined) {
      throw new MobyError(`${damagedIndex.message}, and fetching "${ref.expanded}" again failed`, {
        code: 'STORE',
        cause: err,
        ...(damagedIndex.hint === undefined ? {} : { hint: damagedIndex.hint }),
      });
    }
    throw err;
  }
}

/** A single-platform image is used as is (as LinuxKit does), but building it for another arch deserves a word. */
function warnForeignArch(source: StoreImageSource, opts: GetImageOptions): void {
  const arch = source.config.architecture;
  if (source.rootDescriptor.digest !== source.manifestDigest || arch === '' || arch === opts.platform.architecture)
    return;
  opts.reporter.emit({
    type: 'warn',
    message: `${source.ref.expanded} is a single-platform image for ${source.config.os}/${arch}, used as is for ${formatPlatform(opts.platform)}`,
  });
}
