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
import { cachedRoot, sourceFromCache } from './cached.ts';
import { openLayout, refDescriptors, type Layout } from './layout.ts';
import { pullImage, type ClientTuning } from './pull.ts';
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
}

/** `$LINUXKIT_CACHE`, else `~/.linuxkit/cache` (LinuxKit's default, so both tools share one cache). */
export function defaultCacheDir(env: Record<string, string | undefined> = process.env): string {
  const fromEnv = env.LINUXKIT_CACHE;
  return fromEnv !== undefined && fromEnv !== '' ? resolve(fromEnv) : join(env.HOME ?? homedir(), '.linuxkit', 'cache');
}

/** Opens the store at `dir` (default defaultCacheDir()), creating the layout when missing. */
export async function openStore(dir?: string, options: StoreOptions = {}): Promise<ImageStore> {
  const layout = await openLayout(resolve(dir ?? defaultCacheDir()));
  const getCachedImage = async (ref: Reference, platform: Platform): Promise<StoreImageSource | undefined> => {
    const root = await cachedRoot(layout, ref);
    return root === undefined ? undefined : sourceFromCache(layout, { ref, root, platform, subject: `Cannot pull "${ref.expanded}"` });
  };
  return {
    dir: layout.dir,
    layout,
    getCachedImage,
    getImage: async (ref, opts) => {
      const source = (opts.pull ? undefined : await getCachedImage(ref, opts.platform).catch(() => undefined))
        ?? await pullImage(layout, ref, opts, options.client);
      warnForeignArch(source, opts);
      return source;
    },
    putBlob: (data, expected) => layout.writeBlob(data, expected),
    hasBlob: (d: Digest) => layout.hasBlob(d),
    openBlob: (d: Digest, size?: number): Promise<Readable> => layout.openBlob(d, size),
    setRef: (refName: string, descriptor: Descriptor) => layout.updateIndex((index) => {
      index.manifests = index.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== refName);
      index.manifests.push({ ...descriptor, annotations: { ...descriptor.annotations, [REF_NAME_ANNOTATION]: refName } });
    }),
    getRef: async (refName: string) => refDescriptors(await layout.readIndex(), refName)[0],
  };
}

/** A single-platform image is used as is (as LinuxKit does), but building it for another arch deserves a word. */
function warnForeignArch(source: StoreImageSource, opts: GetImageOptions): void {
  const arch = source.config.architecture;
  if (source.rootDescriptor.digest !== source.manifestDigest || arch === '' || arch === opts.platform.architecture) return;
  opts.reporter.emit({
    type: 'warn',
    message: `${source.ref.expanded} is a single-platform image for ${source.config.os}/${arch}, used as is for ${formatPlatform(opts.platform)}`,
  });
}
