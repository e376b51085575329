/**
 * Leases against garbage collection, deterministically (no timing, no registry): while a store that took an
 * image from the cache is open, `cache rm`, `cache clean` (in this process and through the real CLI, another
 * process) keep every blob of that image — named or not — and free only the others; once the store is
 * closed the next gc frees them. A lease whose process is gone, or one from another host older than a day,
 * keeps nothing (src/store/lease.ts; docs/compat.md, "Running builds lease their blobs").
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseDigest, type Digest } from '../../src/oci/digest.ts';
import { parseReference } from '../../src/oci/reference.ts';
import { openStore, type ImageStore } from '../../src/store/index.ts';
import { cleanCache, removeImages } from '../../src/store/maintenance.ts';
import { buildImage, randomLayer, writeToLayout, type BuiltImage } from '../helpers/images.ts';
import { runCli } from '../pipeline/fixture.ts';

const PLATFORM = { os: 'linux', architecture: 'amd64' };
const A = 'example.com/test/a:1';
const B = 'example.com/test/b:1';
let root: string;
let a: BuiltImage;
let b: BuiltImage;
const counts = { gcs: 0, kept: 0, freed: 0 };

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'mobyts-lease-gc-'));
  await mkdir(join(root, 'home'));
  a = await buildImage({ layers: [randomLayer({ files: 3 }), randomLayer({ files: 2 })] });
  b = await buildImage({ layers: [randomLayer({ files: 2 })] });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
  process.stdout.write(
    `# leases: ${counts.gcs} gc runs, ${counts.kept} leased blobs kept, ${counts.freed} blobs freed\n`,
  );
});

const digestsOf = (img: BuiltImage): Digest[] => [...img.blobs.keys()].sort();

/** A fresh cache holding images A and B. */
async function cacheWithAB(name: string): Promise<string> {
  const cache = join(root, name);
  await writeToLayout(cache, A, a);
  await writeToLayout(cache, B, b);
  return cache;
}

/** The digests of the blobs in `cache` whose bytes still match their digest. */
async function intactBlobs(cache: string): Promise<Digest[]> {
  const dir = join(cache, 'blobs', 'sha256');
  const out: Digest[] = [];
  for (const hex of await readdir(dir).catch(() => [] as string[]))
    if (
      createHash('sha256')
        .update(await readFile(join(dir, hex)))
        .digest('hex') === hex
    )
      out.push(parseDigest(`sha256:${hex}`));
  return out.sort();
}

/** Opens a store on `cache` and takes image A from it, as a build does (its blobs leased from then on). */
async function holdA(cache: string): Promise<ImageStore> {
  const store = await openStore(cache);
  const source = await store.getCachedImage(parseReference(A), PLATFORM);
  assert.equal(source?.manifestDigest, a.descriptor.digest);
  assert.equal((await readdir(join(cache, '.mobyts', 'leases'))).length, 1, 'one lease file');
  return store;
}

async function gc<T extends { blobs: number }>(run: () => Promise<T>): Promise<T> {
  counts.gcs++;
  const r = await run();
  counts.freed += r.blobs;
  return r;
}

void test('cache rm and cache clean keep every blob a store holds a lease on until it is closed, then free them', async () => {
  const cache = await cacheWithAB('cache-rm-clean');
  const store = await holdA(cache);
  const maint = (await openStore(cache)).layout;

  // cache rm A: the name goes, its blobs stay (leased)
  const rmA = await gc(() => removeImages(maint, [A]));
  assert.deepEqual(rmA.removed, [A]);
  assert.equal(rmA.blobs, 0, 'no blob of a leased image is freed');
  assert.deepEqual(await intactBlobs(cache), [...digestsOf(a), ...digestsOf(b)].sort());

  // cache clean: B's blobs go, A's stay intact and readable through the open store
  const clean = await gc(() => cleanCache(maint));
  assert.deepEqual([clean.images, clean.blobs], [1, digestsOf(b).length]);
  assert.deepEqual(await intactBlobs(cache), digestsOf(a));
  counts.kept += digestsOf(a).length;
  for (const d of digestsOf(a)) assert.ok((await store.layout.readBlob(d)).equals(a.blobs.get(d) ?? Buffer.alloc(0)));

  // the real CLI, another process, sees the same lease
  counts.gcs++;
  const cli = await runCli(['cache', 'clean', '--cache', cache], { home: join(root, 'home') });
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(cli.stdout.toString(), 'Removed 0 images and 0 blobs, freed 0 B\n');
  assert.deepEqual(await intactBlobs(cache), digestsOf(a));
  counts.kept += digestsOf(a).length;

  // closed: the lease file goes, and the next gc frees A's blobs
  await store.close();
  assert.deepEqual(await readdir(join(cache, '.mobyts', 'leases')), []);
  const after = await gc(() => cleanCache(maint));
  assert.equal(after.blobs, digestsOf(a).length);
  assert.deepEqual(await intactBlobs(cache), []);
});

void test('cache rm of an image nobody holds frees its blobs while a store holds another image', async () => {
  const cache = await cacheWithAB('cache-rm-other');
  const store = await holdA(cache);
  const maint = (await openStore(cache)).layout;
  const rmB = await gc(() => removeImages(maint, [B]));
  assert.equal(rmB.blobs, digestsOf(b).length);
  assert.deepEqual(await intactBlobs(cache), digestsOf(a));
  // A is still named and whole: a second store takes it from the cache as it is
  const again = await openStore(cache);
  assert.equal((await again.getCachedImage(parseReference(A), PLATFORM))?.manifestDigest, a.descriptor.digest);
  await again.close();
  await store.close();
  assert.deepEqual(await intactBlobs(cache), digestsOf(a), 'closing frees nothing by itself: A is still named');
  assert.equal((await gc(() => cleanCache(maint))).blobs, digestsOf(a).length);
});

/** A process id that is not running (a child that has exited). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

void test('a lease left by a dead process or by another host a day ago keeps nothing; a recent one from another host keeps its blobs', async () => {
  const cache = await cacheWithAB('cache-stale');
  const maint = (await openStore(cache)).layout;
  const leases = join(cache, '.mobyts', 'leases');
  await mkdir(leases, { recursive: true });
  const lease = (pid: number, host: string): string =>
    JSON.stringify({ pid, host, created: Date.now(), digests: digestsOf(a) });
  const dead = deadPid();
  await writeFile(join(leases, `${dead}-dead.json`), lease(dead, hostname()));
  const old = join(leases, '1-old.json');
  await writeFile(old, lease(1, 'another-host.example'));
  const dayAgo = new Date(Date.now() - 25 * 3600_000);
  await utimes(old, dayAgo, dayAgo);
  const rmA = await gc(() => removeImages(maint, [A]));
  assert.equal(rmA.blobs, digestsOf(a).length, 'stale leases keep nothing');
  assert.deepEqual(await readdir(leases), [], 'and are removed');

  const cache2 = await cacheWithAB('cache-other-host');
  const maint2 = (await openStore(cache2)).layout;
  const leases2 = join(cache2, '.mobyts', 'leases');
  await mkdir(leases2, { recursive: true });
  await writeFile(join(leases2, '1-recent.json'), lease(1, 'another-host.example'));
  const clean = await gc(() => cleanCache(maint2));
  assert.equal(clean.blobs, digestsOf(b).length, 'a recent lease from another host (a shared cache) is honoured');
  assert.deepEqual(await intactBlobs(cache2), digestsOf(a));
  counts.kept += digestsOf(a).length;
});
