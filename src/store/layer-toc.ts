/**
 * Tables of contents of layers (docs/formats.md#tables-of-contents): every entry of a layer's tar — path, type,
 * mode, owner, size, mtime, link target, device numbers, PAX records, whiteout/opaque mark — and where its first
 * block and its data sit in the uncompressed stream. A layer's TOC is made while the layer enters the cache
 * (pulled: from the bytes on their way to disk; imported, or built by `pkg build`: read once after it is
 * stored) and kept with the image TOCs (image-tocs.ts), keyed by the layer's digest. A layer that came some
 * other way (a cache filled by LinuxKit) gets its TOC on first use. The build plans from TOCs — which entry
 * of which layer wins each path, what is hidden — before reading any layer's data (src/rootfs/init.ts).
 *
 * A TOC is only ever stored for a layer whose digest was verified, and a layer that is not a readable tar
 * gets none (the build reports it when it reads the layer).
 */
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import type { Descriptor } from '../oci/types.ts';
import { decompressed } from '../tar/decompress.ts';
import type { EntryStream, EntryType, TarEntry, TarHeader } from '../tar/entry.ts';
import { readTar } from '../tar/read.ts';
import { whiteoutOf } from '../tar/whiteout.ts';
import { FLAGS } from '../tar/write.ts';
import { openImageTocs, tocKey, type JsonMemo } from './image-tocs.ts';
import type { Layout } from './layout.ts';
import { parseManifest } from './manifest.ts';

/** Bump when what a layer TOC records changes (old ones are then simply not found). */
export const LAYER_TOC_VERSION = 1;

/** Bodies kept in the TOC because planning reads them: the apk database (merged when init images overlap). */
const KEPT_BODIES = new Set(['lib/apk/db/installed']);
/** A kept body larger than this is not kept (planning then reads the layer). */
const MAX_KEPT_BODY = 16 << 20;

/** Entry types by their ustar flags (the tar writer's table, tar/write.ts). */
const CODE_TYPES = new Map(Object.entries(FLAGS).map(([t, c]) => [c, t as EntryType]));

/** What a row holds beyond the fixed fields (all optional, to keep rows short). */
interface RowMore {
  /** link target */
  l?: string;
  /** user / group names */
  u?: string;
  g?: string;
  /** device major, minor */
  dev?: [number, number];
  /** PAX records, values in base64 */
  pax?: Array<[string, string]>;
  /** `.wh.<name>` deletes a lower path; `.wh..wh..opq` hides a directory's lower contents */
  mark?: 'whiteout' | 'opaque';
  /** the body is in `bodies` */
  kept?: true;
}

/** [name, type code, mode, uid, gid, size, mtime, offset of the first block, offset of the data, more] */
export type TocRow = [string, string, number, number, number, number, number, number, number, RowMore?];

export interface LayerToc {
  v: typeof LAYER_TOC_VERSION;
  rows: TocRow[];
  /** Kept bodies by entry index (base64). */
  bodies: Record<string, string>;
}

/** The layer media types a TOC is made for (tar, compressed or not, distributable or not). */
export function isTarLayer(d: Pick<Descriptor, 'mediaType'>): boolean {
  return /^application\/vnd\.(oci\.image\.layer(\.nondistributable)?\.v1\.tar(\+gzip|\+zstd)?|docker\.image\.rootfs\.(foreign\.)?diff\.tar\.gzip)$/.test(
    d.mediaType,
  );
}

/** The key a layer's TOC is kept under (the same key space as the image TOCs, image-tocs.ts). */
export function layerTocKey(digest: string): string {
  return tocKey(layerTocWhat(digest));
}

/** What identifies the TOC of the layer `digest` (for stores that key by description: src/rootfs/toc.ts). */
export function layerTocWhat(digest: string): Record<string, unknown> {
  return { toc: 'layer', v: LAYER_TOC_VERSION, digest };
}

/** The TOC of the (compressed or not) layer `raw`; rejects as reading the tar does (a malformed layer). */
export async function makeLayerToc(raw: Readable, subject: string): Promise<LayerToc> {
  const rows: TocRow[] = [];
  const bodies: Record<string, string> = {};
  for await (const e of readTar(await decompressed(raw), { subject })) {
    const h = e.header;
    const more: RowMore = {};
    if (h.linkname !== undefined) more.l = h.linkname;
    if (h.uname !== undefined) more.u = h.uname;
    if (h.gname !== undefined) more.g = h.gname;
    if (h.devmajor !== undefined || h.devminor !== undefined) more.dev = [h.devmajor ?? 0, h.devminor ?? 0];
    if (h.pax !== undefined) more.pax = h.pax.map(([k, v]) => [k, v.toString('base64')]);
    const wh = whiteoutOf(h.name);
    if (wh !== undefined) more.mark = wh.kind === 'opaque' ? 'opaque' : 'whiteout';
    if (e.body !== undefined && KEPT_BODIES.has(h.name) && h.size <= MAX_KEPT_BODY) {
      const chunks: Buffer[] = [];
      for await (const c of e.body) chunks.push(c as Buffer);
      bodies[String(rows.length)] = Buffer.concat(chunks).toString('base64');
      more.kept = true;
    }
    const at = e.offset ?? { header: 0, data: 0 };
    const row: TocRow = [h.name, FLAGS[h.type], h.mode, h.uid, h.gid, h.size, h.mtime, at.header, at.data];
    if (Object.keys(more).length > 0) row.push(more);
    rows.push(row);
  }
  return { v: LAYER_TOC_VERSION, rows, bodies };
}

/** Whether `value` (read back from a store) is a layer TOC of this version. */
export function isLayerToc(value: unknown): value is LayerToc {
  const t = value as Partial<LayerToc> | undefined;
  return t?.v === LAYER_TOC_VERSION && Array.isArray(t.rows) && typeof t.bodies === 'object' && t.bodies !== null;
}

/** The header a TOC row describes. */
export function rowHeader(row: TocRow): TarHeader {
  const [name, code, mode, uid, gid, size, mtime, , , more] = row;
  const h: TarHeader = { name, type: CODE_TYPES.get(code) ?? 'file', mode, uid, gid, mtime, size };
  if (more?.u !== undefined) h.uname = more.u;
  if (more?.g !== undefined) h.gname = more.g;
  if (more?.l !== undefined) h.linkname = more.l;
  if (more?.dev !== undefined) [h.devmajor, h.devminor] = more.dev;
  if (more?.pax !== undefined) h.pax = more.pax.map(([k, v]) => [k, Buffer.from(v, 'base64')]);
  return h;
}

/**
 * The layer's entries as its TOC records them, in archive order: headers and offsets, and the bodies the TOC
 * keeps; every other file comes without its body (planning reads no data).
 */
export async function* tocEntries(toc: LayerToc): EntryStream {
  for (let i = 0; i < toc.rows.length; i++) {
    const row = toc.rows[i] as TocRow;
    const e: TarEntry = { header: rowHeader(row), offset: { header: row[7], data: row[8] } };
    const kept = toc.bodies[String(i)];
    if (kept !== undefined) e.body = Readable.from([Buffer.from(kept, 'base64')]);
    yield await Promise.resolve(e);
  }
}

/**
 * Makes a layer's TOC from the bytes of a download on their way to the cache: `pass` hands the bytes on
 * unchanged (waiting while the TOC's decompression catches up, so memory stays bounded), and `toc` gives the
 * TOC once the stream ended, or undefined when the bytes were not a readable tar or did not all pass.
 */
export function layerTocTee(subject: string): {
  pass: (src: Readable) => Readable;
  toc: () => Promise<LayerToc | undefined>;
} {
  const side = new PassThrough({ highWaterMark: 1 << 20 });
  let failed = false;
  let ended = false;
  const made = makeLayerToc(side, subject).catch(() => {
    failed = true;
    side.destroy();
    return undefined;
  });
  const gaveUp = made.then(() => undefined);
  async function* pass(src: Readable): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of src as AsyncIterable<Buffer>) {
        if (!failed && !side.write(chunk)) await Promise.race([once(side, 'drain'), gaveUp]);
        yield chunk;
      }
      side.end();
      ended = true;
    } finally {
      if (!ended) side.destroy();
    }
  }
  return {
    pass: (src) => Readable.from(pass(src), { objectMode: false }),
    toc: async () => {
      if (!ended) side.destroy(); // the stream was stopped (or never read): no TOC
      const toc = await made;
      return ended && !failed ? toc : undefined;
    },
  };
}

/** Stores `toc` as the TOC of the layer `digest` (best effort: a build without it reads the layer). */
export async function putLayerToc(
  tocs: JsonMemo | undefined,
  digest: string,
  toc: LayerToc | undefined,
): Promise<void> {
  if (toc !== undefined) await tocs?.put(layerTocKey(digest), toc).catch(() => {});
}

/**
 * Makes the missing TOCs of every layer the images `roots` (manifests or indexes, stored in `layout`) hold,
 * reading each stored blob once: what `cache import` and `pkg build` call once an image is in the cache.
 * Layers not stored are skipped.
 */
export async function makeLayerTocs(layout: Layout, roots: readonly Descriptor[]): Promise<void> {
  if (layout.readOnly) return;
  const layers: Descriptor[] = [];
  const visit = async (d: Descriptor): Promise<void> => {
    if (!(await layout.hasBlob(d.digest))) return;
    const parsed = parseManifest(await layout.readBlob(d.digest, d.size), d.mediaType, `Cannot read ${d.digest}`);
    if (parsed.kind === 'index') for (const c of parsed.index.manifests) await visit(c);
    else for (const l of parsed.manifest.layers) if (await layout.hasBlob(l.digest)) layers.push(l);
  };
  for (const root of roots) await visit(root).catch(() => undefined);
  const tocs = await openImageTocs(layout.dir);
  if (tocs === undefined) return;
  for (const d of layers) {
    if (!isTarLayer(d) || isLayerToc(await tocs.get(layerTocKey(d.digest)).catch(() => undefined))) continue;
    // a layer that is not a readable tar gets none
    const toc = await layout
      .openBlob(d.digest, d.size)
      .then((raw) => makeLayerToc(raw, `layer ${d.digest}`))
      .catch(() => undefined);
    await putLayerToc(tocs, d.digest, toc);
  }
}
