/**
 * The section cache and the tables of contents when the disk fills up while they store something: the store
 * fails (ENOSPC) but leaves no temp file or directory, the member the build still needs stays where it was, and
 * the segmented initrd written meanwhile is byte-identical to one written without a cache (the build goes on
 * without caching, docs/formats.md "the section cache"). The disk is a 1 MiB tmpfs mounted here, filled up by a
 * filler file just before each store; the test is skipped where no tmpfs can be mounted.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createWriteStream, openSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import {
  segmentKey,
  writeSegmentedInitrd,
  type InitrdSection,
  type SegmentCache,
  type SegmentRecord,
} from '../../src/initrd/segments.ts';
import { openImageTocs, tocDir } from '../../src/store/image-tocs.ts';
import { openSectionCache, sectionsDir, type SectionStore } from '../../src/store/sections.ts';
import type { TarEntry, TarHeader } from '../../src/tar/entry.ts';
import { entryStreamOf } from '../../src/tar/streams.ts';
import { silentReporter } from '../../src/util/reporter.ts';

let root: string;
let disk: string;
let cannotMount: string | undefined;
const counts = { faults: 0, stores: 0, initrds: 0 };

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'mobyts-store-faults-'));
  disk = join(root, 'disk');
  await mkdir(disk);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'tmpfs', disk], { stdio: 'pipe' });
  } catch (err) {
    cannotMount = `cannot mount a tmpfs here (${(err as { stderr?: Buffer }).stderr?.toString().trim() ?? String(err)})`;
  }
});
after(async () => {
  if (cannotMount === undefined) execFileSync('umount', [disk]);
  await rm(root, { recursive: true, force: true });
  process.stdout.write(
    `# cache store faults: ${counts.faults} ENOSPC faults injected into ${counts.stores} section/TOC stores, ${counts.initrds} initrds written\n`,
  );
});

const FILLER = (): string => join(disk, 'filler');

/** Fills the tmpfs to its last page (another process taking the space). */
function fill(): void {
  const fd = openSync(FILLER(), 'a');
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  counts.faults++;
}

async function unfill(): Promise<void> {
  await rm(FILLER(), { force: true });
}

/** Everything under `dir` that looks like a leftover temp file or directory. */
async function temps(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true }).catch(() => [] as string[])).filter((n) => /tmp/.test(n));
}

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const record = (blobs?: Record<string, Buffer>): SegmentRecord => ({
  section: { emitted: [['x', 'file']], ...(blobs === undefined ? {} : { blobs }) },
  lostXattrs: { count: 0, shown: [] },
  empty: false,
});

async function sectionCache(cacheDir: string): Promise<SectionStore<SegmentRecord>> {
  const c = await openSectionCache<SegmentRecord>(cacheDir, silentReporter);
  assert.ok(c !== undefined);
  return c;
}

const CASES = [
  { name: 'the work file on the same file system, no blobs', workOnDisk: true, blobs: undefined },
  {
    name: 'the work file on the same file system, with a blob',
    workOnDisk: true,
    blobs: { kernel: randomBytes(9000) },
  },
  { name: 'the work file on another file system (copied)', workOnDisk: false, blobs: undefined },
];

for (const c of CASES) {
  void test(`a section store that meets a full disk (${c.name}) keeps the member and leaves no temp directory`, async (t) => {
    if (cannotMount !== undefined) return t.skip(cannotMount);
    const cacheDir = join(disk, `cache-${counts.stores}`);
    const work = c.workOnDisk ? join(disk, `work-${counts.stores}`) : await mkdtemp(join(root, 'work-'));
    await mkdir(work, { recursive: true });
    const bytes = randomBytes(100 * 1024);
    const file = join(work, 'segment-0.member');
    await writeFile(file, bytes);
    const cache = await sectionCache(cacheDir);
    const key = 'a'.repeat(64);
    const made = { digest: sha(bytes), size: bytes.length };

    fill();
    counts.stores++;
    await assert.rejects(cache.put(key, file, record(c.blobs), made), { code: 'ENOSPC' });
    assert.ok((await readFile(file)).equals(bytes), 'the member the build still needs is where it was');
    assert.deepEqual(await readdir(sectionsDir(cacheDir)), [], 'no temp directory, no entry');
    assert.equal(await cache.get(key), undefined);

    await unfill();
    counts.stores++;
    const stored = await cache.put(key, file, record(c.blobs), made);
    assert.deepEqual(await readdir(work), [], 'once stored, the work file is gone');
    assert.ok((await readFile(stored)).equals(bytes));
    const hit = await cache.get(key);
    assert.equal(hit?.digest, made.digest);
    assert.deepEqual(hit.record.section.blobs, c.blobs);
    await rm(cacheDir, { recursive: true });
    await rm(work, { recursive: true });
  });
}

void test('a table of contents that meets a full disk is not stored and leaves no temp file', async (t) => {
  if (cannotMount !== undefined) return t.skip(cannotMount);
  const cacheDir = join(disk, 'cache-toc');
  const tocs = await openImageTocs(cacheDir);
  assert.ok(tocs !== undefined);
  const key = 'b'.repeat(64);
  const value = { paths: Array.from({ length: 2000 }, (_, i) => `usr/lib/file-${i}`) };
  fill();
  counts.stores++;
  await assert.rejects(tocs.put(key, value), { code: 'ENOSPC' });
  assert.deepEqual(await readdir(tocDir(cacheDir)), [], 'no temp file');
  assert.equal(await tocs.get(key), undefined);
  await unfill();
  counts.stores++;
  await tocs.put(key, value);
  assert.deepEqual(await tocs.get(key), value);
  assert.deepEqual(await readdir(tocDir(cacheDir)), [`${key}.json`]);
  await rm(cacheDir, { recursive: true });
});

function entry(name: string, content?: Buffer): TarEntry {
  const header: TarHeader = {
    name,
    type: content === undefined ? 'directory' : 'file',
    mode: content === undefined ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    size: content?.length ?? 0,
    mtime: 1700000000,
  };
  return content === undefined ? { header } : { header, body: Readable.from([content]) };
}

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const DATA = Array.from({ length: 4 }, () => randomBytes(60 * 1024));
const sectionKey = (i: number): string => createHash('sha256').update(`section ${i}`).digest('hex');

/**
 * The sections; with `stored`, section i > 0 is handed over only once the store of section i - 1 settled (or
 * the writer stopped caching), so no work file is written while the disk is full: only the store meets it.
 */
async function* sections(stored?: Array<Promise<unknown>>): AsyncGenerator<InitrdSection> {
  await Promise.resolve();
  for (const [i, data] of DATA.entries()) {
    if (i > 0) await stored?.[i - 1];
    yield {
      id: `s${i}`,
      key: sectionKey(i),
      entries: () => entryStreamOf([entry(`d${i}`), entry(`d${i}/data`, data)]),
      replay: () => {},
      record: () => ({ emitted: [[`d${i}`, 'directory']] }),
    };
  }
}

async function initrd(
  dir: string,
  cache: SegmentCache | undefined,
  stored?: Array<Promise<unknown>>,
): Promise<{ bytes: Buffer; reused: number }> {
  const out = join(dir, 'initrd.img');
  const work = join(dir, 'work');
  await mkdir(work, { recursive: true });
  const stats = await writeSegmentedInitrd(sections(stored), {
    compress: 'gzip',
    out: createWriteStream(out),
    workDir: work,
    reporter: silentReporter,
    ...(cache === undefined ? {} : { cache }),
  });
  counts.initrds++;
  assert.equal(stats.compressed + stats.reused, DATA.length);
  return { bytes: await readFile(out), reused: stats.reused };
}

void test('the disk fills up while the initrd writer stores its third section: the initrd is the uncached one; no temp left', async (t) => {
  if (cannotMount !== undefined) return t.skip(cannotMount);
  const golden = (await initrd(await mkdtemp(join(root, 'golden-')), undefined)).bytes;
  const cacheDir = join(disk, 'cache-initrd');
  const real = await sectionCache(cacheDir);
  // The work files, the cache and the filler share the tmpfs, as a cache and its work area do (docs/formats.md).
  const settled = DATA.map(gate);
  let puts = 0;
  let failed = 0;
  const full: SegmentCache = {
    get: (key) => real.get(key),
    evict: (key, why) => real.evict(key, why),
    put: async (key, file, rec, made) => {
      const n = puts++;
      if (n === 2) fill();
      counts.stores++;
      let ok = false;
      try {
        const path = await real.put(key, file, rec, made);
        ok = true;
        return path;
      } catch (err) {
        failed++;
        throw err;
      } finally {
        await unfill();
        // after a failed store the writer stops caching: every later section may come
        for (const s of ok ? settled.slice(n, n + 1) : settled.slice(n)) s.resolve();
      }
    },
  };
  const dir = join(disk, 'build');
  const first = await initrd(
    dir,
    full,
    settled.map((s) => s.promise),
  );
  assert.ok(first.bytes.equals(golden), 'byte-identical to the initrd written without a cache');
  assert.deepEqual([puts, failed], [3, 1], 'two sections stored, the third met the full disk, no fourth store');
  const keys = [...DATA.keys()].map((i) => segmentKey(sectionKey(i), i, 'gzip'));
  assert.deepEqual((await readdir(sectionsDir(cacheDir))).sort(), keys.slice(0, 2).sort(), 'no temp directory');
  assert.deepEqual(await temps(dir), []);
  // with space again the next build reuses two sections and stores the other two; the one after reuses all
  await rm(dir, { recursive: true });
  const second = await initrd(dir, real);
  assert.ok(second.bytes.equals(golden));
  assert.equal(second.reused, 2);
  assert.deepEqual((await readdir(sectionsDir(cacheDir))).sort(), keys.sort());
  await rm(dir, { recursive: true });
  const third = await initrd(dir, real);
  assert.ok(third.bytes.equals(golden));
  assert.equal(third.reused, DATA.length);
  await rm(dir, { recursive: true });
  await rm(cacheDir, { recursive: true });
});
