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
 * component, glob and option characters, device nodes and fifos. Every stack holds every one of CASES, whatever
 * the seed: the rare ones come from an opaque marker at the root forced into layer 1 and a fixed scaffold in
 * the top two layers; `casesOf` reads them back from the raw entries.
 *
 *   const stack = generateStack(42);               // RawEntry[][] bottom layer first
 *   casesOf(stack);                                // Set of the CASES it exercises (all of them)
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
  /** One opaque marker at the root per stack, in layer 1: more would leave too little to compare. */
  rootOpaque = false;
  /** The scaffold's paths (see `scaffoldBelow`): random operations leave them alone, so every case stays visible. */
  readonly keep = new Set<string>();
  /** The scaffold's paths by role, from the layer that lays them down to the one that changes them. */
  readonly scaffold = new Map<string, string>();
  readonly layers: number;
  constructor(seed: number, layers: number) {
    this.rnd = prng(seed);
    this.layers = layers;
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
    return [...this.model]
      .filter(([p, n]) => p !== '' && n.layer < this.layer && !this.keep.has(p) && pred(p, n))
      .map(([p]) => p);
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

  const tools: Tools = { out, meta, whiteout, place, file, symlink };
  if (g.layer === g.layers - 2) scaffoldBelow(g, tools);
  if (g.layer === g.layers - 1) scaffoldAbove(g, tools);

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
      const root = g.chance(0.04) && !g.rootOpaque && g.layer === 1;
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
  if (g.layer === 1 && !g.rootOpaque) {
    // no opaque marker at the root came by chance: one after every entry of this layer (all spared)
    g.rootOpaque = true;
    g.hideLower('', true);
    late.push(whiteout('.wh..opq'));
  }
  return [...out, ...late];
}

interface Tools {
  out: RawEntry[];
  meta: (type: RawType, name: string, extra?: Partial<RawEntry>) => RawEntry;
  whiteout: (path: string) => RawEntry;
  place: (path: string, kind: RawType) => boolean;
  file: (path: string) => RawEntry;
  symlink: (path: string) => RawEntry;
}

/** Appends `e` where the model allows it (a generator bug otherwise) and keeps random operations off it. */
function put(g: Gen, t: Tools, e: RawEntry): void {
  if (!t.place(e.name, e.type)) throw new Error(`layer-stacks scaffold: cannot place ${JSON.stringify(e.name)}`);
  g.keep.add(e.name);
  t.out.push(e);
}

/**
 * The scaffold's lower half, first in the next-to-top layer (after layer 1's opaque marker at the root, so
 * nothing hides it): one of each case that random operations only make now and then, at fresh top-level
 * names, so the top layer can change them (`scaffoldAbove`) and the comparison sees every one.
 */
function scaffoldBelow(g: Gen, t: Tools): void {
  const s = g.scaffold;
  const name = (role: string, base: string): string => {
    const n = `${base}${g.counter++}`;
    s.set(role, n);
    return n;
  };
  const dirWithChild = (role: string, base: string): void => {
    const d = name(role, base);
    put(g, t, t.meta('dir', d));
    put(g, t, t.file(`${d}/child`));
  };
  // type changes across layers, each direction (the top layer makes them)
  dirWithChild('dirToFile', 'sc-dir-to-file');
  dirWithChild('dirToSymlink', 'sc-dir-to-symlink');
  put(g, t, t.file(name('fileToDir', 'sc-file-to-dir')));
  put(g, t, t.symlink(name('symlinkToDir', 'sc-symlink-to-dir')));
  // whiteout targets: at the root, in a directory (beside a sibling that stays), under an opaque marker
  put(g, t, t.file(name('rootWhiteout', 'sc-whiteout')));
  dirWithChild('dirWhiteout', 'sc-dir');
  put(g, t, t.file(`${s.get('dirWhiteout')}/stays`));
  dirWithChild('opaque', 'sc-opaque');
  // whiteout and re-creation of one path in one layer, in both orders
  put(g, t, t.file(name('whiteoutThenCreate', 'sc-recreate')));
  put(g, t, t.file(name('createThenWhiteout', 'sc-recreate')));
  // hardlinks: a chain, one whose target the top layer replaces and one whose target it deletes
  const chain = name('chain', 'sc-chain');
  put(g, t, t.file(chain));
  put(g, t, { ...t.meta('link', `${chain}-l1`), linkname: chain, mode: 0o644 });
  put(g, t, { ...t.meta('link', `${chain}-l2`), linkname: `${chain}-l1`, mode: 0o644 });
  for (const role of ['linkReplaced', 'linkDeleted']) {
    const target = name(role, 'sc-link-target');
    put(g, t, t.file(target));
    put(g, t, { ...t.meta('link', `${target}-link`), linkname: target, mode: 0o644 });
  }
  // a directory header after its children
  const late = name('lateDir', 'sc-late-dir');
  if (!t.place(late, 'dir')) throw new Error('layer-stacks scaffold: cannot place the late directory');
  g.keep.add(late);
  put(g, t, t.file(`${late}/a`));
  put(g, t, t.file(`${late}/b`));
  t.out.push(t.meta('dir', late));
  // odd names, long names and link targets, big ids (both encodings), set-id and sticky modes, special files
  for (const odd of ['a b', 'ünï☃', 'back\\slash', 'a..b', '[', '-rf']) put(g, t, t.file(`${odd}${g.counter++}`));
  for (const enc of ['pax', 'gnu'] as const) {
    const d = `long-${'n'.repeat(150)}-${g.counter++}`;
    put(g, t, t.meta('dir', d, { enc }));
    put(g, t, { ...t.file(`${d}/long-${'n'.repeat(150)}-${g.counter++}`), enc });
    put(g, t, { ...t.symlink(`sc-long-link${g.counter++}`), linkname: `/${'t'.repeat(150)}`, enc });
    put(g, t, { ...t.file(`sc-big-id${g.counter++}`), uid: 3_000_000, gid: 3_000_000, enc });
  }
  put(g, t, { ...t.file(`sc-setuid${g.counter++}`), mode: 0o4755 });
  put(g, t, t.meta('dir', `sc-sticky${g.counter++}`, { mode: 0o1777 }));
  put(g, t, { ...t.meta('char', `sc-char${g.counter++}`), mode: 0o644 });
  put(g, t, { ...t.meta('fifo', `sc-fifo${g.counter++}`), mode: 0o644 });
}

/** The scaffold's upper half, first in the top layer: the changes `scaffoldBelow` set up. */
function scaffoldAbove(g: Gen, t: Tools): void {
  const s = (role: string): string => {
    const p = g.scaffold.get(role);
    if (p === undefined) throw new Error(`layer-stacks scaffold: no ${role}`);
    return p;
  };
  const remove = (path: string, opaque = false): void => {
    g.hideLower(path, opaque);
    t.out.push(t.whiteout(opaque ? `${path}/.wh..opq` : path));
  };
  put(g, t, t.file(s('dirToFile')));
  put(g, t, t.symlink(s('dirToSymlink')));
  put(g, t, t.meta('dir', s('fileToDir')));
  put(g, t, t.meta('dir', s('symlinkToDir')));
  remove(s('rootWhiteout'));
  remove(`${s('dirWhiteout')}/child`);
  put(g, t, t.file(`${s('opaque')}/new`));
  remove(s('opaque'), true); // late: spares the new file
  remove(s('whiteoutThenCreate'));
  put(g, t, t.meta('dir', s('whiteoutThenCreate')));
  put(g, t, t.symlink(s('createThenWhiteout')));
  remove(s('createThenWhiteout')); // late: spares the symlink
  put(g, t, t.file(s('linkReplaced')));
  remove(s('linkDeleted'));
}

/**
 * A stack of `layers` layers (at least 3) with about `ops` random operations each, from `seed`. Whatever the
 * seed, it holds every case of CASES: an opaque marker at the root in layer 1 and the scaffold in the top two
 * layers make sure of the rare ones (`casesOf` checks).
 */
export function generateStack(seed: number, layers = 4, ops = 80): RawEntry[][] {
  if (layers < 3) throw new Error('generateStack: at least 3 layers (root opaque marker, then the scaffold)');
  const g = new Gen(seed, layers);
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

// ---- what a stack covers ---------------------------------------------------------------------------------

/**
 * Every case of the layer rules the differential test must see in each stack. `casesOf` reads them from the
 * raw entries (not from the generator's intent), so a generator change that stops producing one fails the
 * test instead of silently testing less.
 */
export const CASES = [
  'whiteout at the root',
  'whiteout in a directory',
  'opaque marker at the root',
  'opaque marker in a directory',
  'late whiteout (after entries of its layer it spares)',
  'late opaque marker (after entries of its layer it spares)',
  'whiteout then re-creation of the path in one layer',
  're-creation then whiteout of the path in one layer',
  'directory header after its children',
  'file -> directory across layers',
  'directory -> file across layers',
  'directory -> symlink across layers',
  'symlink -> directory across layers',
  'hardlink',
  'hardlink chain (a link to a link)',
  'hardlink whose target a later layer replaces',
  'hardlink whose target a later layer deletes',
  'PAX long name',
  'GNU long name',
  'PAX long link target',
  'GNU long link target',
  'name over 255 bytes',
  'PAX uid or gid',
  'base-256 uid or gid',
  'name with a space',
  'non-ASCII name',
  'backslash in a name',
  '".." inside a component',
  'glob character in a name',
  'name starting with "-"',
  'setuid or setgid file',
  'sticky directory',
  'device node',
  'fifo',
] as const;
export type Case = (typeof CASES)[number];

/** The cases of CASES that `stack` exercises. */
export function casesOf(stack: readonly RawEntry[][]): Set<Case> {
  const got = new Set<Case>();
  /** The merged filesystem below the layer being read: path → type. */
  const view = new Map<string, RawType>();
  const under = (p: string, d: string): boolean => d === '' || p.startsWith(`${d}/`);
  const links: Array<{ layer: number; target: string; done: boolean }> = [];
  stack.forEach((entries, layer) => {
    const whiteouts = new Set<string>();
    const written = new Set<string>();
    const below = new Map(view);
    for (const e of entries) {
      const slash = e.name.lastIndexOf('/');
      const dir = slash < 0 ? '' : e.name.slice(0, slash);
      const base = e.name.slice(slash + 1);
      if (base === '.wh..wh..opq') {
        got.add(dir === '' ? 'opaque marker at the root' : 'opaque marker in a directory');
        if ([...written].some((p) => p !== dir && under(p, dir)))
          got.add('late opaque marker (after entries of its layer it spares)');
        for (const p of [...view.keys()]) if (p !== dir && under(p, dir) && !written.has(p)) view.delete(p);
        for (const l of links) if (!l.done && l.layer < layer && under(l.target, dir)) deleted(l);
        continue;
      }
      if (base.startsWith('.wh.')) {
        const p = `${dir === '' ? '' : `${dir}/`}${base.slice(4)}`;
        got.add(dir === '' ? 'whiteout at the root' : 'whiteout in a directory');
        if ([...written].some((w) => w === p || under(w, p)))
          got.add('late whiteout (after entries of its layer it spares)');
        if (written.has(p)) got.add('re-creation then whiteout of the path in one layer');
        whiteouts.add(p);
        for (const q of [...view.keys()]) if ((q === p || under(q, p)) && !written.has(q)) view.delete(q);
        for (const l of links) if (!l.done && l.layer < layer && (l.target === p || under(l.target, p))) deleted(l);
        continue;
      }
      const p = e.name;
      if (whiteouts.has(p)) got.add('whiteout then re-creation of the path in one layer');
      const old = below.get(p);
      if (old !== undefined && !whiteouts.has(p)) {
        const change = `${old === 'dir' ? 'directory' : old} -> ${e.type === 'dir' ? 'directory' : e.type} across layers`;
        if ((CASES as readonly string[]).includes(change)) got.add(change as Case);
      }
      if (e.type === 'dir' && [...written].some((w) => under(w, p))) got.add('directory header after its children');
      if (e.type !== 'dir' && view.get(p) === 'dir')
        for (const q of [...view.keys()]) if (under(q, p) && !written.has(q)) view.delete(q);
      view.set(p, e.type);
      written.add(p);
      for (const l of links)
        if (!l.done && l.layer < layer && l.target === p) {
          l.done = true;
          got.add('hardlink whose target a later layer replaces');
        }
      if (e.type === 'link') {
        got.add('hardlink');
        if (entries.some((t) => t.name === e.linkname && t.type === 'link'))
          got.add('hardlink chain (a link to a link)');
        links.push({ layer, target: e.linkname ?? '', done: false });
      }
      const bytes = Buffer.byteLength(e.type === 'dir' ? `${p}/` : p);
      if (bytes > 100) got.add(e.enc === 'pax' ? 'PAX long name' : 'GNU long name');
      if (bytes > 255) got.add('name over 255 bytes');
      if (Buffer.byteLength(e.linkname ?? '') > 100)
        got.add(e.enc === 'pax' ? 'PAX long link target' : 'GNU long link target');
      if (e.uid > OCTAL_MAX || e.gid > OCTAL_MAX) got.add(e.enc === 'pax' ? 'PAX uid or gid' : 'base-256 uid or gid');
      if (base.includes(' ')) got.add('name with a space');
      if ([...base].some((c) => (c.codePointAt(0) ?? 0) > 0x7f)) got.add('non-ASCII name');
      if (base.includes('\\')) got.add('backslash in a name');
      if (base.includes('..')) got.add('".." inside a component');
      if (/[[*?{]/.test(base)) got.add('glob character in a name');
      if (base.startsWith('-')) got.add('name starting with "-"');
      if (e.type === 'file' && (e.mode & 0o6000) !== 0) got.add('setuid or setgid file');
      if (e.type === 'dir' && (e.mode & 0o1000) !== 0) got.add('sticky directory');
      if (e.type === 'char') got.add('device node');
      if (e.type === 'fifo') got.add('fifo');
    }
  });
  function deleted(l: { done: boolean }): void {
    l.done = true;
    got.add('hardlink whose target a later layer deletes');
  }
  return got;
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
