/**
 * Seeded, generated OCI layer stacks for the differential test (test/image/differential.test.ts), written by
 * an independent minimal tar writer (not src/tar) so both readers see the encodings real tools produce:
 * ustar, PAX records (`path`, `linkpath`, `uid`, `gid`) and GNU `L`/`K` long names with base-256 numbers.
 *
 * The generator keeps a model of the merged filesystem only to stay inside what the OCI layer rules define
 * (every entry's parent is a directory, whiteouts name lower paths, hardlinks point into their own layer);
 * inside that it produces every case the rules cover: whiteouts and opaque markers at every depth (the
 * root included), a whiteout and a re-creation of the same path in one layer (in either order: late
 * whiteouts must spare what their own layer wrote), directory headers after their children, type changes
 * across layers, hardlink chains, hardlinks whose target a later layer replaces or deletes, long names and
 * link targets, uids and gids past the octal limit, names with spaces, unicode, backslashes, `..` inside a
 * component, glob and option characters, device nodes and fifos.
 *
 *   const stack = generateStack(42);               // RawEntry[][] bottom layer first
 *   const image = imageOf(stack);                  // a BuiltImage (gzip layers) for pushImage
 *   await writeUmociLayout(dir, 'latest', image);  // an OCI layout umoci can read
 *   const tree = await walkTree(rootfs);           // path → what a user can observe of each file
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { digestHex, digestOf, type Digest } from '../../src/oci/digest.ts';
import { MediaType, type ImageConfig, type ImageManifest } from '../../src/oci/types.ts';
import type { BuiltImage } from './images.ts';

export type RawType = 'file' | 'link' | 'symlink' | 'char' | 'dir' | 'fifo';
export type Encoding = 'pax' | 'gnu';

export interface RawEntry {
  /** As written in the tar (no trailing slash; the writer adds it for directories). */
  name: string;
  type: RawType;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname?: string;
  data?: Buffer;
  enc: Encoding;
}

/** mulberry32: a small seeded PRNG, so a failing seed can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Names that break naive tools or parsers (no NUL, no slash, no newline; never `.wh.`-prefixed). */
export const ODD = [
  'a b',
  'ünï☃',
  'back\\slash',
  'a..b',
  '..x',
  'x..',
  '[',
  '*',
  '?',
  '-rf',
  "it's",
  '~u',
  '$HOME',
  '{a,b}',
  'tab\there',
];
/** Top-level names the LinuxKit assembly adds itself (kernel, init touch-ups): the stacks stay clear of them. */
export const RESERVED_TOP = new Set([
  'sbom.spdx.json',
  'boot',
  'lib',
  'dev',
  'etc',
  'proc',
  'sys',
  'containers',
  'run',
  'tmp',
  'var',
]);

const MODES_FILE = [0o644, 0o755, 0o600, 0o4755, 0o2755, 0o640, 0o444, 0o6711];
const MODES_DIR = [0o755, 0o700, 0o1777, 0o2775, 0o750];
const IDS = [0, 0, 0, 1000, 65534, 3_000_000];

interface Node {
  kind: RawType;
  layer: number;
}

class Gen {
  readonly rnd: () => number;
  readonly model = new Map<string, Node>([['', { kind: 'dir', layer: -1 }]]);
  layer = 0;
  counter = 0;
  /** One opaque marker at the root per stack: more would leave too little to compare. */
  rootOpaque = false;
  constructor(seed: number) {
    this.rnd = prng(seed);
  }

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }

  dirs(): string[] {
    return [...this.model].filter(([, n]) => n.kind === 'dir').map(([p]) => p);
  }
  lower(pred: (p: string, n: Node) => boolean): string[] {
    return [...this.model].filter(([p, n]) => p !== '' && n.layer < this.layer && pred(p, n)).map(([p]) => p);
  }
  createdBelow(path: string): boolean {
    const pre = path === '' ? '' : `${path}/`;
    return [...this.model].some(([p, n]) => p !== path && p.startsWith(pre) && n.layer === this.layer);
  }

  /** Hides lower entries at/below `path` (the path itself unless `keepSelf`). */
  hideLower(path: string, keepSelf: boolean): void {
    const pre = path === '' ? '' : `${path}/`;
    for (const [p, n] of [...this.model]) {
      if (n.layer >= this.layer) continue;
      if ((p === path && !keepSelf && p !== '') || (p !== path && p.startsWith(pre))) this.model.delete(p);
    }
  }

  newName(parent: string): string {
    const r = this.rnd();
    let base: string;
    if (r < 0.12) base = `${this.pick(ODD)}${this.int(3) === 0 ? '' : String(this.counter++)}`;
    else if (r < 0.17) base = `long-${'n'.repeat(100 + this.int(140))}-${this.counter++}`;
    else base = `${this.pick(['f', 'd', 'x', 'lib', 'bin', 'data'])}${this.counter++}`;
    if (parent === '' && RESERVED_TOP.has(base)) base = `g${base}`;
    return parent === '' ? base : `${parent}/${base}`;
  }

  /** A parent directory for a new entry: deep paths now and then, so names pass 100 and 255 bytes. */
  parent(): string {
    const ds = this.dirs();
    const deep = ds.filter((d) => d.length > 60);
    return deep.length > 0 && this.chance(0.2) ? this.pick(deep) : this.pick(ds);
  }

  ids(): { uid: number; gid: number } {
    return { uid: this.pick(IDS), gid: this.pick(IDS) };
  }
  mtime(): number {
    return 1_600_000_000 + this.int(100_000_000);
  }
  enc(): Encoding {
    return this.chance(0.5) ? 'pax' : 'gnu';
  }
}

function whiteoutName(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? `.wh.${path}` : `${path.slice(0, slash)}/.wh.${path.slice(slash + 1)}`;
}

/** Builds one layer of `g` (appending raw entries), applying what it does to the model. */
function layer(g: Gen, ops: number): RawEntry[] {
  const out: RawEntry[] = [];
  const late: RawEntry[] = [];
  const here = new Set<string>();
  const nonDirsHere: string[] = [];
  const meta = (type: RawType, name: string, extra: Partial<RawEntry> = {}): RawEntry => ({
    name,
    type,
    mode: type === 'dir' ? g.pick(MODES_DIR) : type === 'symlink' ? 0o777 : g.pick(MODES_FILE),
    ...g.ids(),
    mtime: g.mtime(),
    enc: g.enc(),
    ...extra,
  });
  const whiteout = (path: string): RawEntry => ({
    name: whiteoutName(path),
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: g.mtime(),
    data: Buffer.alloc(0),
    enc: g.enc(),
  });

  /** Places a new entry at `path` (a type change when a lower one is there); false when it may not. */
  const place = (path: string, kind: RawType): boolean => {
    if (here.has(path)) return false;
    const old = g.model.get(path);
    if (old !== undefined && g.createdBelow(path)) return false;
    if (old !== undefined && !(old.kind === 'dir' && kind === 'dir')) g.hideLower(path, false);
    g.model.set(path, { kind, layer: g.layer });
    here.add(path);
    if (kind !== 'dir') nonDirsHere.push(path);
    return true;
  };
  const file = (path: string): RawEntry =>
    meta('file', path, {
      data: Buffer.from(`${path}@${g.layer}:${g.int(1000)}${g.chance(0.1) ? 'z'.repeat(g.int(3000)) : ''}`),
    });
  const symlink = (path: string): RawEntry =>
    meta('symlink', path, {
      linkname: g
        .pick(['target', '../up', '/usr/lib', `/${'t'.repeat(110 + g.int(100))}`, 'a b/ü', './x/../y', ''])
        .replace(/^$/, 'dangling'),
    });
  const create = (kind: 'file' | 'dir' | 'symlink', path: string): RawEntry | undefined => {
    if (!place(path, kind)) return undefined;
    return kind === 'file' ? file(path) : kind === 'dir' ? meta('dir', path) : symlink(path);
  };

  for (let i = 0; i < ops; i++) {
    const r = g.rnd();
    if (r < 0.3) {
      const e = create('file', g.newName(g.parent()));
      if (e) out.push(e);
    } else if (r < 0.45) {
      const e = create('dir', g.newName(g.parent()));
      if (e) out.push(e);
    } else if (r < 0.52) {
      const e = create('symlink', g.newName(g.parent()));
      if (e) out.push(e);
    } else if (r < 0.62) {
      // a hardlink into this layer; to a link now and then (a chain)
      const targets = nonDirsHere.filter((p) => {
        const k = g.model.get(p)?.kind;
        return k === 'file' || k === 'link';
      });
      if (targets.length === 0) continue;
      const target = g.pick(targets);
      const path = g.newName(g.parent());
      if (!place(path, 'link')) continue;
      out.push({ ...meta('link', path), linkname: target, mode: 0o644 });
    } else if (r < 0.7) {
      // whiteout of a lower path: early, or late (after this layer's own entries)
      const cands = g.lower((p) => !here.has(p) && !g.createdBelow(p));
      if (cands.length === 0) continue;
      const p = g.pick(cands);
      g.hideLower(p, false);
      (g.chance(0.5) ? late : out).push(whiteout(p));
    } else if (r < 0.76) {
      // opaque marker on a lower directory, the root now and then; early or late
      const cands = g.lower((_, n) => n.kind === 'dir');
      if (g.layer === 0) continue;
      const root = g.chance(0.04) && !g.rootOpaque;
      if (!root && cands.length === 0) continue;
      const d = root ? '' : g.pick(cands);
      if (d === '') g.rootOpaque = true;
      g.hideLower(d, true);
      if (d !== '' && g.chance(0.5) && !here.has(d)) {
        here.add(d);
        g.model.set(d, { kind: 'dir', layer: g.layer });
        out.push(meta('dir', d));
      }
      (g.chance(0.5) ? late : out).push(whiteout(d === '' ? '.wh..opq' : `${d}/.wh..opq`));
    } else if (r < 0.84) {
      // whiteout and re-creation of the same path in one layer, as another type or the same
      const cands = g.lower((p) => !here.has(p) && !g.createdBelow(p));
      if (cands.length === 0) continue;
      const p = g.pick(cands);
      g.hideLower(p, false);
      const e = create(g.pick(['file', 'dir', 'symlink'] as const), p);
      if (e === undefined) continue;
      if (g.chance(0.5)) out.push(whiteout(p), e);
      else {
        out.push(e);
        late.push(whiteout(p));
      }
    } else if (r < 0.9) {
      // a directory whose header comes after its children
      const d = g.newName(g.parent());
      const dir = create('dir', d);
      if (dir === undefined) continue;
      for (let k = 0; k < 1 + g.int(3); k++) {
        const e = create('file', g.newName(d));
        if (e) out.push(e);
      }
      out.push(dir);
    } else if (r < 0.96) {
      // type change of a lower path (file ↔ dir ↔ symlink)
      const cands = g.lower((p) => !here.has(p) && !g.createdBelow(p));
      if (cands.length === 0) continue;
      const p = g.pick(cands);
      const kind = g.model.get(p)?.kind === 'dir' ? g.pick(['file', 'symlink'] as const) : 'dir';
      const e = create(kind, p);
      if (e) out.push(e);
    } else {
      const path = g.newName(g.parent());
      const kind = g.chance(0.5) ? 'char' : 'fifo';
      if (!place(path, kind)) continue;
      out.push({ ...meta(kind, path), mode: 0o644 });
    }
  }
  // The upper layer replaces a file the lower layer hardlinked: covered by file ops over lower names.
  return [...out, ...late];
}

/** A stack of `layers` layers with about `ops` operations each, from `seed`. */
export function generateStack(seed: number, layers = 4, ops = 80): RawEntry[][] {
  const g = new Gen(seed);
  const out: RawEntry[][] = [];
  for (let l = 0; l < layers; l++) {
    g.layer = l;
    // replace some lower files outright too (their hardlinks keep the old content)
    const layerEntries = layer(g, ops);
    const replace = g.lower((p, n) => n.kind === 'file' && !g.createdBelow(p)).slice(0, 3);
    for (const p of replace) {
      g.model.set(p, { kind: 'file', layer: l });
      layerEntries.unshift({
        name: p,
        type: 'file',
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime: g.mtime(),
        data: Buffer.from(`replaced ${p} in ${l}`),
        enc: g.enc(),
      });
    }
    out.push(layerEntries);
  }
  return out;
}

// ---- the tar writer ------------------------------------------------------------------------------------

const TYPEFLAG: Record<RawType, string> = { file: '0', link: '1', symlink: '2', char: '3', dir: '5', fifo: '6' };
const OCTAL_MAX = 0o7777777;

function octal(b: Buffer, off: number, len: number, n: number): void {
  b.write(`${n.toString(8).padStart(len - 1, '0')}\0`, off, len, 'latin1');
}

/** GNU base-256: high bit set, the number big-endian in the remaining bytes. */
function base256(b: Buffer, off: number, len: number, n: number): void {
  let v = BigInt(n);
  for (let i = len - 1; i > 0; i--) {
    b[off + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  b[off] = 0x80;
}

function header(o: {
  name: Buffer;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: Buffer;
  gnu: boolean;
}): Buffer {
  const b = Buffer.alloc(512);
  o.name.copy(b, 0, 0, Math.min(100, o.name.length));
  octal(b, 100, 8, o.mode);
  for (const [off, v] of [
    [108, o.uid],
    [116, o.gid],
  ] as const) {
    if (v > OCTAL_MAX) base256(b, off, 8, v);
    else octal(b, off, 8, v);
  }
  octal(b, 124, 12, o.size);
  octal(b, 136, 12, o.mtime);
  b.write(o.type, 156, 'latin1');
  o.linkname.copy(b, 157, 0, Math.min(100, o.linkname.length));
  if (o.gnu) b.write('ustar  \0', 257, 'latin1');
  else b.write('ustar\x0000', 257, 'latin1');
  b.write('root', 265, 'latin1');
  b.write('root', 297, 'latin1');
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (b[i] ?? 0);
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

function padded(data: Buffer): Buffer[] {
  const pad = (512 - (data.length % 512)) % 512;
  return [data, Buffer.alloc(pad)];
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

function meta(kind: string, data: Buffer, gnu: boolean): Buffer[] {
  const name = Buffer.from(gnu ? '././@LongLink' : 'PaxHeaders/x');
  return [
    header({
      name,
      type: kind,
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: data.length,
      mtime: 0,
      linkname: Buffer.alloc(0),
      gnu,
    }),
    ...padded(data),
  ];
}

/** One entry's blocks: ustar when everything fits, else PAX records or GNU L/K + base-256. */
function entryBlocks(e: RawEntry): Buffer[] {
  const name = Buffer.from(e.type === 'dir' ? `${e.name}/` : e.name);
  const link = Buffer.from(e.linkname ?? '');
  const data = e.type === 'file' ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
  const out: Buffer[] = [];
  const gnu = e.enc === 'gnu';
  if (gnu) {
    if (name.length > 100) out.push(...meta('L', Buffer.concat([name, Buffer.from([0])]), true));
    if (link.length > 100) out.push(...meta('K', Buffer.concat([link, Buffer.from([0])]), true));
  } else {
    const records: string[] = [];
    if (name.length > 100) records.push(paxRecord('path', name.toString()));
    if (link.length > 100) records.push(paxRecord('linkpath', link.toString()));
    if (e.uid > OCTAL_MAX) records.push(paxRecord('uid', String(e.uid)));
    if (e.gid > OCTAL_MAX) records.push(paxRecord('gid', String(e.gid)));
    if (records.length > 0) out.push(...meta('x', Buffer.from(records.join('')), false));
  }
  out.push(
    header({
      name,
      type: TYPEFLAG[e.type],
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      size: data.length,
      mtime: e.mtime,
      linkname: link,
      gnu,
    }),
  );
  if (data.length > 0) out.push(...padded(data));
  return out;
}

export function tarOfRaw(entries: readonly RawEntry[]): Buffer {
  return Buffer.concat([...entries.flatMap(entryBlocks), Buffer.alloc(1024)]);
}

/** The stack as an image (gzip layers, OCI media types) ready for pushImage. */
export function imageOf(stack: readonly RawEntry[][]): BuiltImage {
  return imageOfLayers(stack.map(tarOfRaw).map((tar) => ({ tar, gz: gzipSync(tar) })));
}

/** An amd64 OCI image of these layers (uncompressed tar and its gzip), bottom first. */
export function imageOfLayers(layers: ReadonlyArray<{ tar: Buffer; gz: Buffer }>): BuiltImage {
  const tars = layers.map((l) => l.tar);
  const gz = layers.map((l) => l.gz);
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    created: '2024-01-01T00:00:00Z',
    config: {},
    rootfs: { type: 'layers', diff_ids: tars.map((t) => digestOf(t)) },
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OCI_MANIFEST,
    config: { mediaType: MediaType.OCI_CONFIG, digest: digestOf(configBytes), size: configBytes.length },
    layers: gz.map((b) => ({ mediaType: MediaType.OCI_LAYER_GZIP, digest: digestOf(b), size: b.length })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const blobs = new Map<Digest, Buffer>([
    [digestOf(manifestBytes), manifestBytes],
    [manifest.config.digest, configBytes],
  ]);
  for (const b of gz) blobs.set(digestOf(b), b);
  return {
    kind: 'image',
    manifest,
    manifestBytes,
    config,
    configBytes,
    blobs,
    platform: { os: 'linux', architecture: 'amd64' },
    layers: tars.map((t, i) => ({ descriptor: manifest.layers[i]!, diffId: digestOf(t), tar: t, entries: [] })),
    descriptor: { mediaType: MediaType.OCI_MANIFEST, digest: digestOf(manifestBytes), size: manifestBytes.length },
  };
}

/** An OCI image layout at `dir` naming `image` `tag` (umoci's `--image dir:tag`). */
export async function writeUmociLayout(dir: string, tag: string, image: BuiltImage): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const [d, b] of image.blobs) await writeFile(join(dir, 'blobs', 'sha256', digestHex(d)), b);
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.OCI_INDEX,
    manifests: [{ ...image.descriptor, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}

// ---- observing a tree ----------------------------------------------------------------------------------

export interface Observed {
  type: 'file' | 'dir' | 'symlink' | 'fifo' | 'char' | 'block';
  /** Permission and set-id/sticky bits. */
  mode: string;
  owner: string;
  mtime: number;
  /** sha256 of a file's content; a symlink's target. */
  content?: string;
  /** A stable id shared by the names of one inode (files with nlink > 1), else undefined. */
  inode?: string;
}

function typeOf(mode: number): Observed['type'] {
  const t = mode & 0o170000;
  return t === 0o040000
    ? 'dir'
    : t === 0o120000
      ? 'symlink'
      : t === 0o010000
        ? 'fifo'
        : t === 0o020000
          ? 'char'
          : t === 0o060000
            ? 'block'
            : 'file';
}

/** Every path below `root` (relative, root itself excluded) with what a user observes of it. */
export async function walkTree(root: string): Promise<Map<string, Observed>> {
  const out = new Map<string, Observed>();
  const inodes = new Map<string, string>();
  async function walk(rel: string): Promise<void> {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const p = rel === '' ? name : `${rel}/${name}`;
      const full = join(root, p);
      const st = await lstat(full, { bigint: true });
      const type = typeOf(Number(st.mode));
      const o: Observed = {
        type,
        mode: (Number(st.mode) & 0o7777).toString(8).padStart(4, '0'),
        owner: `${st.uid}:${st.gid}`,
        mtime: Number(st.mtimeMs / 1000n),
      };
      if (type === 'file')
        o.content = createHash('sha256')
          .update(await readFile(full))
          .digest('hex')
          .slice(0, 16);
      if (type === 'symlink') o.content = await readlink(full);
      if (type === 'file' && st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        if (!inodes.has(key)) inodes.set(key, p);
        o.inode = inodes.get(key);
      }
      out.set(p, o);
      if (type === 'dir') await walk(p);
    }
  }
  await walk('');
  return out;
}
