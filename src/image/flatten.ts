/**
 * Flattening an image's layers into one filesystem entry stream (docs/linuxkit-behaviour.md#flatten, OCI image-spec
 * layer.md "Whiteouts"). Layers are read top-most first and each entry is emitted once, at its first
 * (upper-most) occurrence, so nothing is buffered: memory is the set of names seen (plus the names of
 * directories that hide their lower contents), never file content.
 *
 * Differences from LinuxKit (go-containerregistry mutate.Extract), on purpose:
 * - opaque whiteouts (`<dir>/.wh..wh..opq`) ARE honoured: lower-layer contents of that directory are hidden
 *   (LinuxKit lets them leak through, which contradicts the OCI spec and the image's meaning);
 * - hardlink targets are cleaned like names, and a hardlink is never left dangling or pointing at a newer
 *   file: when its target in the same layer was deleted or replaced by an upper layer, the link becomes a
 *   regular file with the target's content (read in a second pass over that one layer);
 * - a lower-layer non-directory at a path an upper layer used as a directory is dropped (the upper layer's
 *   directory wins), so no entry is ever written through a lower-layer symlink;
 * - device nodes are dropped (see tar/safe-path.ts), after the layer rules: a device still replaces the
 *   lower entry at its path, and the directory holding it stays; one warning per image.
 */
import type { Descriptor } from '../oci/types.ts';
import { MobyError } from '../util/errors.ts';
import type { Reporter } from '../util/reporter.ts';
import { decompressed } from '../tar/decompress.ts';
import type { EntryStream, TarEntry, TarHeader } from '../tar/entry.ts';
import { readTar } from '../tar/read.ts';
import { ancestors, safeEntries } from '../tar/safe-path.ts';
import { whiteoutOf, type Whiteout } from '../tar/whiteout.ts';
import type { ImageSource } from './source.ts';

export interface FlattenOptions {
  /** Receives the warnings (dropped device nodes): required, so no warning is emitted into nothing. */
  reporter: Reporter;
  /**
   * Each layer's entries in archive order (default: the layer's tar, read from `source`). Planning passes the
   * layer's table of contents (store/layer-toc.ts): the same rules then run on headers alone, reading no data.
   */
  layers?: (layer: Descriptor) => Promise<EntryStream>;
}

/** Names decided by upper layers. */
class FlattenState {
  /** Emitted or deleted: a lower entry with this exact name is skipped. */
  readonly seen = new Set<string>();
  /** Deleted paths, emitted non-directories and opaque directories: lower descendants are hidden. */
  readonly hides = new Set<string>();
  /**
   * Directories upper layers need: ancestors of emitted names, and of upper entries that a later whiteout
   * removed (the directory they were in outlives them). A lower non-directory here would put upper entries
   * below a file/symlink; a lower directory here is kept with its own header.
   */
  readonly parents = new Set<string>();
  /** Directories with an opaque marker: they stay, only their lower contents are hidden. */
  readonly opaque = new Set<string>();

  hidden(h: TarHeader): boolean {
    if (this.seen.has(h.name)) return true;
    // A lower directory that upper entries live in stays, with its own header (its lower contents stay hidden):
    // a whiteout or opaque marker spares what its own layer wrote, and so the directories that holds.
    if (h.type === 'directory' && this.parents.has(h.name)) return false;
    // The root ('') is every other name's ancestor: an opaque marker at a layer's root hides all lower entries.
    if (h.name !== '' && this.hides.has('')) return true;
    if (ancestors(h.name).some((a) => this.hides.has(a))) return true;
    return h.type !== 'directory' && this.parents.has(h.name);
  }

  /** Whether the path itself is gone for the layers below (deleted, replaced by a non-directory, or inside such). */
  private goneSelf(a: string): boolean {
    if (a !== '' && this.hides.has('')) return true;
    if (this.hides.has(a) && !this.opaque.has(a)) return true;
    return ancestors(a).some((x) => this.hides.has(x));
  }

  /** An entry of this layer (shown or not) proves its directories existed here: they stay needed below. */
  implyParents(name: string): void {
    for (const a of ancestors(name)) {
      if (this.goneSelf(a)) return;
      this.parents.add(a);
    }
  }

  record(h: TarHeader): void {
    this.seen.add(h.name);
    if (h.type !== 'directory') this.hides.add(h.name);
    for (const a of ancestors(h.name)) this.parents.add(a);
  }
}

/** Decompression and stream errors become a MobyError naming the layer, caused by them (MobyErrors pass unchanged). */
function layerError(subject: string, err: unknown): unknown {
  if (err instanceof MobyError) return err;
  return new MobyError(`Cannot read ${subject}`, {
    code: 'UNSAFE_CONTENT',
    cause: err,
    hint: 'the layer is corrupt; remove it from the cache (or fix the image) and pull again',
  });
}

function layerSubject(source: ImageSource, layer: Descriptor): string {
  return `layer ${layer.digest} of ${source.ref.expanded}`;
}

async function layerEntries(source: ImageSource, layer: Descriptor, opts: FlattenOptions): Promise<EntryStream> {
  if (opts.layers !== undefined) return opts.layers(layer);
  return readTar(await decompressed(await source.openLayer(layer)), { subject: layerSubject(source, layer) });
}

/** One layer's contribution; whiteouts and opaque markers take effect for the layers below only. */
async function* flattenLayer(
  source: ImageSource,
  layer: Descriptor,
  state: FlattenState,
  opts: FlattenOptions,
): AsyncGenerator<TarEntry> {
  const subject = layerSubject(source, layer);
  const deferred: Whiteout[] = [];
  const emittedHere = new Set<string>();
  const orphans = new Map<string, TarHeader[]>();
  const chains = new LinkChains();
  const entries = safeEntries(await layerEntries(source, layer, opts), {
    subject,
    allowUnresolvedLinks: true,
    reporter: opts.reporter,
    isMarker: (n) => whiteoutOf(n) !== undefined,
    keepDevices: true,
  });
  for await (const raw of entries) {
    const e = chains.resolve(raw);
    const h = e.header;
    const wh = whiteoutOf(h.name);
    if (wh !== undefined) {
      deferred.push(wh);
      continue;
    }
    state.implyParents(h.name);
    if (state.hidden(h)) continue;
    if (h.type === 'link' && !emittedHere.has(h.linkname ?? '')) {
      state.seen.add(h.name);
      orphans.set(h.linkname ?? '', [...(orphans.get(h.linkname ?? '') ?? []), h]);
      continue;
    }
    state.record(h);
    if (h.type !== 'directory') emittedHere.add(h.name);
    yield e;
  }
  if (orphans.size > 0) yield* resolveOrphans(await layerEntries(source, layer, opts), { orphans, state, subject });
  applyWhiteouts(state, deferred);
}

/**
 * Hardlink chains within one layer (`l2 -> l1 -> t`, as tar writers that point at the previous name write
 * them) are one inode: every link is rewritten to name the chain's first file, as umoci and containerd do.
 */
class LinkChains {
  private readonly roots = new Map<string, string>();

  resolve(e: TarEntry): TarEntry {
    const h = e.header;
    if (h.type !== 'link') {
      this.roots.delete(h.name);
      return e;
    }
    const target = h.linkname ?? '';
    const root = this.roots.get(target) ?? target;
    this.roots.set(h.name, root);
    return root === target ? e : { ...e, header: { ...h, linkname: root } };
  }
}

function applyWhiteouts(state: FlattenState, whiteouts: Whiteout[]): void {
  for (const w of whiteouts) {
    if (w.kind === 'delete') {
      if (!state.parents.has(w.target)) state.seen.add(w.target);
      state.hides.add(w.target);
    } else if (w.kind === 'opaque') {
      if (!state.hides.has(w.dir)) state.opaque.add(w.dir); // else deleted or replaced above: stays gone
      state.hides.add(w.dir);
    }
  }
}

/**
 * Hardlinks whose target this layer does not emit (deleted or replaced above, or in another layer): the first
 * link becomes a copy of the target (found by re-reading this layer), the others link to that copy.
 */
async function* resolveOrphans(
  entries: EntryStream,
  c: { orphans: Map<string, TarHeader[]>; state: FlattenState; subject: string },
): AsyncGenerator<TarEntry> {
  for await (const e of entries) {
    const links = c.orphans.get(e.header.name);
    if (links === undefined || e.header.type === 'link' || e.header.type === 'directory') continue;
    c.orphans.delete(e.header.name);
    const [first, ...rest] = links;
    if (first === undefined) continue;
    const copy: TarHeader = { ...e.header, name: first.name };
    c.state.record(copy);
    yield e.body === undefined ? { header: copy } : { header: copy, body: e.body };
    for (const l of rest) {
      const link: TarHeader = { ...copy, name: l.name, type: 'link', size: 0, linkname: first.name };
      c.state.record(link);
      yield { header: link };
    }
  }
  const [target, links] = [...c.orphans][0] ?? [];
  if (target !== undefined) {
    throw new MobyError(
      `Refusing unsafe content in "${c.subject}": "${links?.[0]?.name ?? ''}" is a hardlink to "${target}", which is not a file in the same layer`,
      {
        code: 'UNSAFE_CONTENT',
        hint: 'the layer is malformed; rebuild the image',
      },
    );
  }
}

/**
 * The image's filesystem as one entry stream: layers top-most first, whiteouts applied, each path once.
 * Layers are opened one at a time (verified against their digests by the ImageSource at end of stream) and
 * decompressed by magic (gzip, zstd, none). The consumer drains or destroys each body before asking for the
 * next entry (unread bodies are skipped). A failure (digest mismatch, unsafe path, corrupt tar) rejects the
 * iteration with a MobyError naming the layer and image; entries already yielded may have been consumed.
 * Each call starts a fresh pass over the layers.
 */
export function flattenImage(source: ImageSource, opts: FlattenOptions): EntryStream {
  async function* run(): AsyncGenerator<TarEntry> {
    const state = new FlattenState();
    const layers = [...source.manifest.layers].reverse();
    for (const layer of layers) {
      try {
        yield* flattenLayer(source, layer, state, opts);
      } catch (err) {
        throw layerError(layerSubject(source, layer), err);
      }
    }
  }
  return safeEntries(run(), { subject: source.ref.expanded, reporter: opts.reporter });
}
