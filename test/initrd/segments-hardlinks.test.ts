/**
 * A section's cpio is encoded and compressed in one pass, and a hardlink group's nlink count, known only at the
 * section's end, is written into the compressed member afterwards (src/initrd/segments.ts, parallel-gzip.ts
 * `patchGzip`). These tests hold the result to the bytes of the simple way: the whole cpio in memory, its
 * nlink fields patched, then compressed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import { constants, createZstdCompress, gunzipSync, zstdDecompressSync } from 'node:zlib';
import { FIRST_INO, NewcEncoder, nlinkField } from '../../src/initrd/cpio.ts';
import {
  applyPatches,
  parallelGzip,
  patchGzip,
  type GzipBlock,
  type InputPatch,
} from '../../src/initrd/parallel-gzip.ts';
import {
  GZIP_LEVEL,
  INO_SHARE,
  trailerMember,
  writeSegmentedInitrd,
  ZSTD_LEVEL,
  type InitrdSection,
  type SegmentCompression,
} from '../../src/initrd/segments.ts';
import type { TarEntry, TarHeader } from '../../src/tar/entry.ts';
import { entryStreamOf } from '../../src/tar/streams.ts';
import { silentReporter } from '../../src/util/reporter.ts';

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of source) parts.push(c);
  return Buffer.concat(parts);
}

/** A small deterministic generator (the cases must be the same on every run). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function gz(data: Buffer, blockSize: number, layout?: GzipBlock[]): Promise<Buffer> {
  const chunks = [];
  for (let i = 0; i < data.length; i += 5000) chunks.push(data.subarray(i, i + 5000));
  const opts = { level: GZIP_LEVEL, blockSize, ...(layout ? { onBlock: (b: GzipBlock) => layout.push(b) } : {}) };
  return collect(parallelGzip(opts)(Readable.from(chunks)));
}

void test('patchGzip gives the bytes of compressing the patched input: patches in one block, across a block boundary, in the dictionary window, in the last block', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mobyts-patch-gzip-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const text = Buffer.from('0707010000abcdef nlink 00000001 usr/bin/git\n'.repeat(12_000));
  let recompressed = 0;
  let blocksSeen = 0;
  for (let seed = 1; seed <= 24; seed++) {
    const r = rng(seed);
    const blockSize = [32 * 1024, 64 * 1024, 100_000][seed % 3] as number;
    const size = Math.floor(r() * 500_000) + (seed === 1 ? 0 : 9);
    const data = Buffer.concat([randomBytes(Math.floor(size / 3)), text]).subarray(0, size);
    const spots = [
      () => Math.floor(r() * Math.max(1, size - 8)),
      () => blockSize * (1 + Math.floor(r() * Math.max(1, size / blockSize - 1))) - 4, // straddles a boundary
      () => blockSize * (1 + Math.floor(r() * Math.max(1, size / blockSize - 1))) - 1000, // in the window
      () => size - 8, // the last block
    ];
    const patches: InputPatch[] = [];
    for (let i = 0; i < 1 + (seed % 5); i++) {
      const offset = (spots[i % spots.length] as () => number)();
      if (offset >= 0 && offset + 8 <= size) patches.push({ offset, bytes: nlinkField(2 + i) });
    }
    const layout: GzipBlock[] = [];
    const before = await gz(data, blockSize, layout);
    assert.equal(
      layout.reduce((n, b) => n + b.raw, 0),
      size,
    );
    blocksSeen += layout.length;
    const from = join(dir, `in-${seed}.gz`);
    const to = join(dir, `out-${seed}.gz`);
    await writeFile(from, before);
    const made = await patchGzip(from, to, layout, patches, GZIP_LEVEL);
    const want = Buffer.from(data);
    applyPatches(want, 0, patches);
    const expected = await gz(want, blockSize);
    const got = await import('node:fs/promises').then((fs) => fs.readFile(to));
    assert.ok(got.equals(expected), `seed ${seed}: ${size} bytes, blocks of ${blockSize}, ${patches.length} patches`);
    assert.deepEqual(gunzipSync(got), want);
    assert.equal(made.size, got.length);
    if (!got.equals(before)) recompressed++;
  }
  assert.ok(recompressed >= 20, `${recompressed} of 24 streams changed`);
  t.diagnostic(`24 streams, ${blocksSeen} blocks, ${recompressed} changed by their patches`);
});

const hdr = (h: Partial<TarHeader> & Pick<TarHeader, 'name' | 'type'>): TarHeader => ({
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtime: 0,
  size: 0,
  ...h,
});

/** Section `i`'s entries: big files (so the groups' headers land in different 1 MiB blocks) and hardlinks to them. */
function entriesOf(i: number): TarEntry[] {
  const big = (n: number): Buffer => Buffer.concat([randomBytesSeeded(i * 100 + n, 700_000), Buffer.alloc(300_000, n)]);
  const file = (name: string, body: Buffer): TarEntry => ({
    header: hdr({ name, type: 'file', size: body.length }),
    body: Readable.from([body]),
  });
  const link = (name: string, target: string): TarEntry => ({ header: hdr({ name, type: 'link', linkname: target }) });
  if (i === 1) return [file('etc/plain', Buffer.from('no links here\n'))];
  return [
    { header: hdr({ name: 'usr', type: 'directory', mode: 0o755 }) },
    file('usr/a', big(1)),
    file('usr/b', big(2)),
    link('usr/a2', 'usr/a'),
    file('usr/c', big(3)),
    link('usr/b2', 'usr/b'),
    link('usr/a3', 'usr/a'),
    file('usr/d', big(4)),
    link('usr/d2', 'usr/d'),
  ];
}

const seeded = new Map<number, Buffer>();
function randomBytesSeeded(seed: number, n: number): Buffer {
  const known = seeded.get(seed);
  if (known !== undefined) return known;
  const r = rng(seed);
  const b = Buffer.alloc(n);
  for (let j = 0; j < n; j++) b[j] = Math.floor(r() * 256);
  seeded.set(seed, b);
  return b;
}

function section(i: number): InitrdSection {
  return {
    id: `s${i}`,
    key: `${i}`.repeat(64).slice(0, 64),
    entries: () => entryStreamOf(entriesOf(i)),
    replay: () => {},
    record: () => ({ emitted: [] }),
  };
}

/** zstd as a stream (as the writer compresses), fed in 1 MiB pieces: the output does not depend on the pieces. */
async function zstd(data: Buffer): Promise<Buffer> {
  const pieces = [];
  for (let i = 0; i < data.length; i += 1 << 20) pieces.push(data.subarray(i, i + (1 << 20)));
  return collect(
    Readable.from(pieces).pipe(createZstdCompress({ params: { [constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL } })),
  );
}

/** The simple way: each section's cpio in memory with its nlink fields patched, compressed as one member. */
async function expected(kind: SegmentCompression, count: number): Promise<Buffer> {
  const members: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const enc = new NewcEncoder({
      firstIno: FIRST_INO + i * INO_SHARE,
      inoLimit: FIRST_INO + (i + 1) * INO_SHARE,
      trailer: false,
    });
    const cpio = await collect(enc.bytes(entryStreamOf(entriesOf(i))));
    applyPatches(
      cpio,
      0,
      enc.nlinkPatches().map((p) => ({ offset: p.offset, bytes: nlinkField(p.nlink) })),
    );
    members.push(kind === 'gzip' ? await gz(cpio, 1 << 20) : kind === 'zstd' ? await zstd(cpio) : cpio);
  }
  members.push(trailerMember(kind, FIRST_INO + count * INO_SHARE));
  const all = Buffer.concat(members);
  return kind === 'gzip' && all.length % 4 !== 0 ? Buffer.concat([all, Buffer.alloc(4 - (all.length % 4))]) : all;
}

for (const kind of ['gzip', 'zstd', 'none'] as const) {
  void test(`a segmented ${kind} initrd with hardlink groups: the bytes of patching the whole cpio first, and no cpio in the work directory`, async (t) => {
    const work = await mkdtemp(join(tmpdir(), 'mobyts-seg-links-'));
    t.after(() => rm(work, { recursive: true, force: true }));
    const out = new PassThrough();
    const got = collect(out);
    const sections = async function* (): AsyncGenerator<InitrdSection> {
      for (let i = 0; i < 3; i++) {
        yield section(i);
        // No uncompressed cpio is ever written: only members (and a member being patched) are work files.
        const names = await readdir(work);
        assert.ok(
          names.every((n) => /^segment-\d+\.member(\.patched)?$/.test(n)),
          names.join(', '),
        );
      }
    };
    const stats = await writeSegmentedInitrd(sections(), {
      compress: kind,
      out,
      workDir: work,
      reporter: silentReporter,
    });
    assert.deepEqual(stats, { reused: 0, compressed: 3 });
    const initrd = await got;
    assert.ok(initrd.equals(await expected(kind, 3)), `${kind}: ${initrd.length} bytes`);
    assert.deepEqual((await readdir(work)).sort(), ['segment-0.member', 'segment-1.member', 'segment-2.member']);
    const cpio = kind === 'gzip' ? gunzipSync(initrd) : kind === 'zstd' ? zstdDecompressSync(initrd) : initrd;
    // the groups as GNU cpio will see them: usr/a ×3, usr/b ×2, usr/d ×2, in sections 0 and 2
    const nlinks = [
      ...cpio
        .toString('latin1')
        .matchAll(/070701[0-9a-f]{8}[0-9a-f]{8}[0-9a-f]{8}[0-9a-f]{8}([0-9a-f]{8})[0-9a-f]{64}(usr\/\w+)\0/g),
    ].map((m) => `${m[2]}:${parseInt(m[1] as string, 16)}`);
    const once = ['usr/a:3', 'usr/b:2', 'usr/a2:3', 'usr/c:1', 'usr/b2:2', 'usr/a3:3', 'usr/d:2', 'usr/d2:2'];
    assert.deepEqual(nlinks, [...once, ...once]);
  });
}
