/**
 * Generated tar streams (fast-check) into the tar reader, the layer flattener and the staging of a root
 * filesystem on disk. Layers are written by a raw ustar/pax encoder here (so names like `../x`, absolute
 * symlinks, hardlinks through symlinks and directories over symlinks can be expressed), then possibly
 * truncated, bit-flipped or gzip-compressed. Whatever the bytes: reading ends or fails with a MobyError
 * (never another exception, never a hang), and staging writes nothing outside its target: a sibling
 * directory keeps its entries, modes, times, contents and link counts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { ImageSource } from '../../src/image/source.ts';
import { flattenImage } from '../../src/image/flatten.ts';
import { digestOf } from '../../src/oci/digest.ts';
import { parseReference } from '../../src/oci/reference.ts';
import { MediaType, type Descriptor } from '../../src/oci/types.ts';
import { stageRootfs } from '../../src/outputs/stage-rootfs.ts';
import { readTar } from '../../src/tar/read.ts';
import { tarBytes } from '../../src/tar/write.ts';
import { isMobyError } from '../../src/util/errors.ts';
import { silentReporter } from '../../src/util/reporter.ts';
import { writeStreamAtomically } from '../../src/util/atomic.ts';

const READ_RUNS = 2000;
const STAGE_RUNS = 400;
let work: string;
const counts = { read: 0, readRefused: 0, staged: 0, stageRefused: 0 };

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'mobyts-prop-tar-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
  process.stdout.write(
    `# tar streams: ${counts.read} read (${counts.readRefused} refused), ${counts.staged} flattened and staged (${counts.stageRefused} refused)\n`,
  );
});

type Kind = 'file' | 'dir' | 'symlink' | 'link' | 'fifo' | 'chardev';
interface RawEntry {
  name: string;
  kind: Kind;
  mode: number;
  uid: number;
  link: string;
  content: Buffer;
  mtime: number;
}

const segment = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom('a', 'b', 'etc', 'l', 'outside', 'x y', 'é', '.wh.a', '.wh..wh..opq', '.wh.b'),
  },
  { weight: 1, arbitrary: fc.constantFrom('..', '.', '') },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 120 }) },
);
const name = fc
  .array(segment, { minLength: 1, maxLength: 4 })
  .chain((parts) =>
    fc.constantFrom(parts.join('/'), `/${parts.join('/')}`, `./${parts.join('/')}`, `${parts.join('/')}/`),
  );
const linkTarget = fc.oneof(
  name,
  fc.constantFrom('../outside', '../../outside', '../outside/secret', '/etc/passwd', '/', '.', '..', 'a', 'l/secret'),
);

const rawEntry: fc.Arbitrary<RawEntry> = fc.record({
  name,
  kind: fc.constantFrom<Kind>('file', 'file', 'dir', 'dir', 'symlink', 'link', 'fifo', 'chardev'),
  mode: fc.integer({ min: 0, max: 0o7777 }),
  uid: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 21 - 1 })),
  link: linkTarget,
  content: fc.uint8Array({ maxLength: 700 }).map((a) => Buffer.from(a)),
  mtime: fc.integer({ min: 0, max: 2 ** 33 - 1 }),
});

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

function pax(records: Array<[string, string]>): Buffer {
  const data = Buffer.concat(
    records.map(([k, v]) => {
      const body = ` ${k}=${v}\n`;
      let len = Buffer.byteLength(body) + 1;
      while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
      return Buffer.from(`${len}${body}`);
    }),
  );
  return Buffer.concat([
    block({ name: 'PaxHeader', kind: 'file', mode: 0o644, uid: 0, link: '', content: data, mtime: 0 }, 'x'),
    data,
    Buffer.alloc((512 - (data.length % 512)) % 512),
  ]);
}

function block(e: RawEntry, typeflag: string): Buffer {
  const b = Buffer.alloc(512);
  Buffer.from(e.name, 'utf8').subarray(0, 100).copy(b, 0);
  b.write(octal(e.mode, 8), 100, 'latin1');
  b.write(octal(e.uid, 8), 108, 'latin1');
  b.write(octal(e.uid, 8), 116, 'latin1');
  b.write(octal(typeflag === '0' || typeflag === 'x' ? e.content.length : 0, 12), 124, 'latin1');
  b.write(octal(e.mtime, 12), 136, 'latin1');
  b.write(typeflag, 156, 'latin1');
  Buffer.from(e.link, 'utf8').subarray(0, 100).copy(b, 157);
  b.write('ustar\u000000', 257, 'latin1');
  b.write('        ', 148, 'latin1');
  let sum = 0;
  for (const c of b) sum += c;
  b.write(octal(sum, 7), 148, 'latin1');
  return b;
}

const TYPEFLAG: Record<Kind, string> = { file: '0', dir: '5', symlink: '2', link: '1', fifo: '6', chardev: '3' };

/** A tar of `entries`, with pax records for names and links too long for ustar. */
function rawTar(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const records: Array<[string, string]> = [];
    if (Buffer.byteLength(e.name) > 100) records.push(['path', e.name]);
    if (Buffer.byteLength(e.link) > 100) records.push(['linkpath', e.link]);
    if (records.length > 0) parts.push(pax(records));
    parts.push(block(e, TYPEFLAG[e.kind]));
    if (e.kind === 'file' && e.content.length > 0)
      parts.push(e.content, Buffer.alloc((512 - (e.content.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

type Damage =
  | { kind: 'none' }
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; bits: number }
  | { kind: 'garbage'; bytes: Uint8Array };
const damage: fc.Arbitrary<Damage> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('garbage' as const), bytes: fc.uint8Array({ maxLength: 2048 }) }),
  },
);

function damaged(tar: Buffer, d: Damage): Buffer {
  if (d.kind === 'truncate') return tar.subarray(0, d.at % (tar.length + 1));
  if (d.kind === 'garbage') return Buffer.from(d.bytes);
  if (d.kind === 'flip') {
    const out = Buffer.from(tar);
    const i = d.at % out.length;
    out[i] = (out[i] ?? 0) ^ d.bits;
    return out;
  }
  return tar;
}

const layerBytes = fc
  .record({ entries: fc.array(rawEntry, { maxLength: 12 }), damage, gzip: fc.boolean() })
  .map(({ entries, damage: d, gzip }) => {
    const b = damaged(rawTar(entries), d);
    return gzip ? gzipSync(b) : b;
  });

/** Reads every entry and body; resolves with whether the stream was refused (rejects on anything but a MobyError). */
async function drain(stream: AsyncIterable<{ body?: Readable | undefined }>): Promise<boolean> {
  try {
    for await (const e of stream)
      if (e.body !== undefined)
        for await (const _ of e.body) {
          /* read */
        }
    return false;
  } catch (err) {
    if (isMobyError(err)) return true;
    throw err;
  }
}

void test(`${READ_RUNS} generated, truncated and corrupted tar streams: read to the end or refused with a MobyError`, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({ entries: fc.array(rawEntry, { maxLength: 12 }), damage }),
      async ({ entries, damage: d }) => {
        counts.read++;
        if (await drain(readTar(Readable.from([damaged(rawTar(entries), d)]), { subject: 'generated' })))
          counts.readRefused++;
      },
    ),
    { numRuns: READ_RUNS },
  );
});

function imageOf(layers: Buffer[]): ImageSource {
  const descs: Descriptor[] = layers.map((b) => ({
    mediaType: MediaType.OCI_LAYER,
    digest: digestOf(b),
    size: b.length,
  }));
  const byDigest = new Map(descs.map((d, i) => [d.digest, layers[i] ?? Buffer.alloc(0)]));
  const open = (d: string): Promise<Readable> =>
    Promise.resolve(Readable.from([byDigest.get(d as never) ?? Buffer.alloc(0)]));
  return {
    ref: parseReference('generated/layers:1'),
    manifestDigest: digestOf('m'),
    manifest: {
      schemaVersion: 2,
      mediaType: MediaType.OCI_MANIFEST,
      config: { mediaType: MediaType.OCI_CONFIG, digest: digestOf('c'), size: 1 },
      layers: descs,
    },
    config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
    openLayer: (l) => open(l.digest),
    openBlob: (d) => open(d),
  };
}

interface Snapshot {
  [path: string]: string;
}

/** Every entry under `dir` with its type, mode, size, mtime, link count and content hash. */
async function snapshot(dir: string, rel = ''): Promise<Snapshot> {
  const out: Snapshot = {};
  for (const n of (await readdir(join(dir, rel))).sort()) {
    const p = join(rel, n);
    const st = await lstat(join(dir, p));
    const hash = st.isFile()
      ? createHash('sha256')
          .update(await readFile(join(dir, p)))
          .digest('hex')
      : '';
    out[p] = `${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${st.nlink} ${hash}`;
    if (st.isDirectory()) Object.assign(out, await snapshot(dir, p));
  }
  return out;
}

/**
 * The host places a link target in a generated tar may name (`/`, `/etc/passwd`): the root directory's names
 * and the password file. The tests run as root, so an escape through an absolute symlink would land there,
 * outside the sandbox's own snapshot.
 */
async function hostState(): Promise<string> {
  const passwd = await lstat('/etc/passwd');
  const hash = createHash('sha256')
    .update(await readFile('/etc/passwd'))
    .digest('hex');
  return JSON.stringify({ root: (await readdir('/')).sort(), passwd: [passwd.mtimeMs, passwd.size, hash] });
}

/** Stages what `write` puts at the tar path into a sandbox; asserts nothing outside the target changed. */
async function stagedInSandbox(run: number, write: (tarPath: string) => Promise<void>): Promise<void> {
  counts.staged++;
  const sandbox = join(work, `s${run}`);
  const outside = join(sandbox, 'outside');
  await mkdir(join(outside, 'etc'), { recursive: true });
  await writeFile(join(outside, 'secret'), 'keep me');
  await writeFile(join(outside, 'etc', 'passwd'), 'root:x:0:0');
  const before = await snapshot(sandbox);
  const host = await hostState();
  const tarPath = join(sandbox, 'rootfs.tar');
  try {
    await write(tarPath);
    await stageRootfs(tarPath, join(sandbox, 'target'));
  } catch (err) {
    if (!isMobyError(err)) throw err;
    counts.stageRefused++;
  }
  const after = await snapshot(sandbox);
  for (const p of Object.keys(after))
    assert.ok(
      p === 'rootfs.tar' || p === 'target' || p.startsWith('target/') || p in before,
      `nothing new outside the target: ${p}`,
    );
  for (const [p, v] of Object.entries(before)) assert.equal(after[p], v, `${p} outside the target is unchanged`);
  assert.equal(await hostState(), host, 'nothing written at the host paths an absolute link names');
  await rm(sandbox, { recursive: true, force: true });
}

let sandboxes = 0;

void test(`${STAGE_RUNS} generated images flattened and staged on disk: nothing is written outside the target`, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(layerBytes, { minLength: 1, maxLength: 3 }), (layers) =>
      stagedInSandbox(sandboxes++, (tarPath) =>
        writeStreamAtomically(
          tarPath,
          Readable.from(tarBytes(flattenImage(imageOf(layers), { reporter: silentReporter }))),
        ),
      ),
    ),
    { numRuns: STAGE_RUNS },
  );
});

void test(`${STAGE_RUNS} generated raw tars staged on disk directly: nothing is written outside the target`, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(rawEntry, { maxLength: 12 }), (entries) =>
      stagedInSandbox(sandboxes++, (tarPath) => writeFile(tarPath, rawTar(entries))),
    ),
    { numRuns: STAGE_RUNS },
  );
});
