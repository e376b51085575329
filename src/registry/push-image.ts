/**
 * Pushing an image the cache holds (`cache push`, `pkg push`, `pkg build --push`): every manifest, config and
 * layer the root descriptor reaches, children before parents, blobs the registry has skipped (HEAD), layers
 * streamed from the cache. An index whose platform manifests are not all cached cannot be pushed as it is
 * (the registry would refuse it), so that fails naming what is missing.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { Digest } from '../oci/digest.ts';
import type { Reference } from '../oci/reference.ts';
import { MediaType, type Descriptor } from '../oci/types.ts';
import type { Layout } from '../store/layout.ts';
import { parseManifest } from '../store/manifest.ts';
import { formatPlatform, isAttestation } from '../store/platform.ts';
import type { RegistryOptions } from '../store/types.ts';
import { isMobyError, MobyError } from '../util/errors.ts';
import type { Reporter } from '../util/reporter.ts';
import { createRegistryClient, pushContext, type CallContext, type RegistryClient } from './client.ts';

export interface PushImageOptions {
  registry: RegistryOptions;
  reporter: Reporter;
  signal?: AbortSignal;
  /** Push even when the registry already has the tag (LinuxKit's `--override`); default: leave it alone. */
  override?: boolean;
  /** For an index, also tag each platform's manifest `<tag>-<arch>` (LinuxKit's `--with-arch-tags`). */
  withArchTags?: boolean;
}

export interface PushedImage {
  digest: Digest;
  /** True when the tag existed and nothing was pushed. */
  skipped: boolean;
  /** Extra tags written by withArchTags. */
  archTags: string[];
}

class Pusher {
  readonly layout: Layout;
  readonly client: RegistryClient;
  readonly ctx: CallContext;
  readonly name: string;

  constructor(layout: Layout, client: RegistryClient, ctx: CallContext, name: string) {
    this.layout = layout;
    this.client = client;
    this.ctx = ctx;
    this.name = name;
  }

  async bytes(d: Descriptor, what: string): Promise<Buffer> {
    if (!(await this.layout.hasBlob(d.digest))) {
      throw new MobyError(`${this.ctx.subject}: the cache lacks ${what} ${d.digest} of "${this.name}"`, {
        code: 'NOT_FOUND',
        hint: `pull every platform first (mobyts cache pull --arch ARCH ${this.name}), or push one platform's image by digest`,
      });
    }
    return this.layout.readBlob(d.digest, d.size);
  }

  async blob(d: Descriptor, what: string): Promise<void> {
    if (!(await this.layout.hasBlob(d.digest))) await this.bytes(d, what);
    await this.client.pushBlob(this.ctx, d, () => this.open(d));
  }

  /** A fresh stream of a cached blob for each upload attempt, verified against its digest as it is read. */
  open(d: Descriptor): Readable {
    const out = new PassThrough();
    this.layout.openBlob(d.digest, d.size).then(
      (s) => s.on('error', (e) => out.destroy(e)).pipe(out),
      (e: unknown) => out.destroy(e as Error),
    );
    return out;
  }

  /** Pushes `d` and everything under it (`what` names it in errors: `the linux/arm64`); returns its bytes. */
  async tree(d: Descriptor, what: string): Promise<Buffer> {
    const bytes = await this.bytes(d, `${what} manifest`);
    const parsed = parseManifest(bytes, d.mediaType, this.ctx.subject);
    if (parsed.kind === 'index') {
      for (const child of parsed.index.manifests) {
        const label = isAttestation(child) ? 'the attestation' : `the ${formatPlatform(child.platform)}`;
        const childBytes = await this.tree(child, label);
        await this.client.pushManifest(this.ctx, childBytes, child.mediaType);
      }
    } else {
      for (const l of parsed.manifest.layers) await this.blob(l, `${what} layer`);
      await this.blob(parsed.manifest.config, `${what} config`);
    }
    return bytes;
  }
}

async function remoteHas(client: RegistryClient, ctx: CallContext, tag: string): Promise<boolean> {
  try {
    await client.resolve(ctx, tag);
    return true;
  } catch (err) {
    if (isMobyError(err) && err.code === 'NOT_FOUND') return false;
    throw err;
  }
}

/** Pushes the cached image `root` (named `name` in the cache) to `target` (its tag, default `latest`). */
export async function pushCachedImage(
  layout: Layout,
  name: string,
  root: Descriptor,
  target: Reference,
  opts: PushImageOptions,
): Promise<PushedImage> {
  const client = createRegistryClient({
    registry: opts.registry,
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  const ctx = pushContext(target);
  const tag = target.tag ?? 'latest';
  try {
    if (opts.override !== true && (await remoteHas(client, { ...ctx, action: 'pull' }, tag))) {
      opts.reporter.emit({
        type: 'info',
        message: `${target.expanded} is already in the registry: not pushed (--override pushes it again)`,
      });
      return { digest: root.digest, skipped: true, archTags: [] };
    }
    const p = new Pusher(layout, client, ctx, name);
    const rootBytes = await p.tree(root, 'the');
    const digest = await client.pushManifest(ctx, rootBytes, root.mediaType || MediaType.OCI_MANIFEST, tag);
    const archTags: string[] = [];
    const parsed = parseManifest(rootBytes, root.mediaType, ctx.subject);
    if (opts.withArchTags === true && parsed.kind === 'index') {
      for (const child of parsed.index.manifests.filter((c) => !isAttestation(c) && c.platform !== undefined)) {
        const archTag = `${tag}-${child.platform?.architecture ?? ''}`;
        await client.pushManifest(ctx, await layout.readBlob(child.digest, child.size), child.mediaType, archTag);
        archTags.push(archTag);
      }
    }
    return { digest, skipped: false, archTags };
  } finally {
    await client.close();
  }
}
