import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { digestHex, digestOf } from '../oci/digest.ts';
import { openStore } from './index.ts';
import { acquireLock } from './lock.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mobyts-layout-'));
  dirs.push(d);
  return d;
}

void test('a new store is a valid, empty OCI layout', async () => {
  const dir = await tmp();
  await openStore(dir);
  assert.equal(await readFile(join(dir, 'oci-layout'), 'utf8'), '{"imageLayoutVersion":"1.0.0"}');
  assert.deepEqual(JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')), {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [],
  });
});

void test('putBlob stores verified bytes idempotently and stores nothing on a mismatch', async () => {
  const dir = await tmp();
  const store = await openStore(dir);
  const data = Buffer.from('hello blob');
  const d = digestOf(data);
  assert.deepEqual(
    await store.putBlob(Readable.from([data.subarray(0, 3), data.subarray(3)]), { digest: d, size: data.length }),
    { digest: d, size: data.length },
  );
  assert.deepEqual(await store.putBlob(data), { digest: d, size: data.length });
  assert.deepEqual(await buffer(await store.openBlob(d, data.length)), data);
  const wrong = digestOf('other');
  await assert.rejects(store.putBlob(data, { digest: wrong, size: data.length }), {
    code: 'DIGEST_MISMATCH',
    message: `blob ${wrong} does not match its digest (expected ${wrong}, got ${d})`,
  });
  await assert.rejects(store.putBlob(Buffer.from('much longer than that'), { digest: wrong, size: 5 }), {
    message: `blob ${wrong} is larger than its descriptor says (more than 5 bytes)`,
  });
  assert.equal(await store.hasBlob(wrong), false);
  assert.deepEqual(await readdir(join(dir, '.mobyts', 'tmp')), []);
});

void test('a blob corrupted on disk fails when read', async () => {
  const dir = await tmp();
  const store = await openStore(dir);
  const data = Buffer.from('precious');
  const d = digestOf(data);
  await store.putBlob(data, { digest: d, size: data.length });
  await writeFile(join(dir, 'blobs', 'sha256', digestHex(d)), 'tampered');
  await assert.rejects(async () => buffer(await store.openBlob(d, data.length)), { code: 'DIGEST_MISMATCH' });
});

void test('setRef keeps one descriptor per name and getRef finds it', async () => {
  const store = await openStore(await tmp());
  const a = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf('a'), size: 1 };
  const b = { ...a, digest: digestOf('b') };
  await store.setRef('docker.io/library/x:1', a);
  await store.setRef('docker.io/library/y:1', a);
  await store.setRef('docker.io/library/x:1', b);
  assert.equal((await store.getRef('docker.io/library/x:1'))?.digest, b.digest);
  assert.equal((await store.getRef('docker.io/library/y:1'))?.digest, a.digest);
  assert.equal(await store.getRef('docker.io/library/z:1'), undefined);
});

void test('locks: a dead holder is stale and broken, a live one makes others wait and time out', async () => {
  const dir = await tmp();
  const path = join(dir, 'x.lock');
  await writeFile(path, `999999999 ${(await import('node:os')).hostname()} ${Date.now()}\n`);
  const release = await acquireLock(path, { timeoutMs: 2000 });
  assert.match(await readFile(path, 'utf8'), new RegExp(`^${process.pid} `));
  await assert.rejects(acquireLock(path, { timeoutMs: 100 }), {
    code: 'LOCK',
    message: `Cannot lock "${path}": another process has held it for too long`,
  });
  await release();
  const again = await acquireLock(path, { timeoutMs: 100 });
  await again();
});

void test('locks from another host (shared cache on NFS) are judged by age only', async () => {
  const path = join(await tmp(), 'y.lock');
  await writeFile(path, `1 some-other-host ${Date.now()}\n`);
  await assert.rejects(acquireLock(path, { timeoutMs: 100, staleMs: 60_000 }), { code: 'LOCK' });
  const old = new Date(Date.now() - 120_000);
  await utimes(path, old, old);
  const release = await acquireLock(path, { timeoutMs: 1000, staleMs: 60_000 });
  await release();
});
