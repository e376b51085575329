/** A package layer from a staged directory: exact entries, digests that are the real hashes, the same bytes every time. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { dirEntries, LINUXKIT_EPOCH, sourceDateEpoch, writeLayer } from './layer.ts';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function stage(root: string): Promise<string> {
  const dir = join(root, 'stage');
  await mkdir(join(dir, 'bin'), { recursive: true });
  await chmod(join(dir, 'bin'), 0o755); // whatever the umask
  await writeFile(join(dir, 'bin/hello'), '#!/bin/sh\necho hi\n');
  await chmod(join(dir, 'bin/hello'), 0o4755);
  await writeFile(join(dir, 'a.txt'), 'a');
  await chmod(join(dir, 'a.txt'), 0o640);
  await symlink('bin/hello', join(dir, 'link'));
  await utimes(join(dir, 'a.txt'), 1, 1); // host times never reach the layer
  return dir;
}

void test('entries are sorted, root-owned, at one mtime, with their permission bits; symlinks keep their target', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'mobyts-layer-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = await stage(root);
  const headers = [];
  for await (const e of dirEntries(dir, 1234)) {
    e.body?.resume();
    headers.push(e.header);
  }
  assert.deepEqual(headers, [
    { name: 'a.txt', mode: 0o640, uid: 0, gid: 0, mtime: 1234, type: 'file', size: 1 },
    { name: 'bin', mode: 0o755, uid: 0, gid: 0, mtime: 1234, type: 'directory', size: 0 },
    { name: 'bin/hello', mode: 0o4755, uid: 0, gid: 0, mtime: 1234, type: 'file', size: 18 },
    { name: 'link', mode: 0o777, uid: 0, gid: 0, mtime: 1234, type: 'symlink', size: 0, linkname: 'bin/hello' },
  ]);
});

void test('the layer file is gzip whose digest and diffID are the hashes of its bytes, identical on every write', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'mobyts-layer-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = await stage(root);
  const one = await writeLayer(dir, join(root, 'one.tar.gz'), LINUXKIT_EPOCH);
  const bytes = await readFile(one.path);
  assert.equal(one.digest, sha(bytes));
  assert.equal(one.size, bytes.length);
  assert.equal(one.diffId, sha(gunzipSync(bytes)));
  assert.equal(bytes.readUInt32LE(4), 0, 'gzip header mtime is 0');
  const two = await writeLayer(dir, join(root, 'two.tar.gz'), LINUXKIT_EPOCH);
  assert.deepEqual([two.digest, two.diffId, two.size], [one.digest, one.diffId, one.size]);
  const later = await writeLayer(dir, join(root, 'later.tar.gz'), LINUXKIT_EPOCH + 1);
  assert.notEqual(later.diffId, one.diffId, 'the mtime is part of the content');
});

void test("SOURCE_DATE_EPOCH when it is an integer, else LinuxKit's 2017-04-18T16:30:00Z", () => {
  assert.equal(sourceDateEpoch({ SOURCE_DATE_EPOCH: '315532800' }), 315532800);
  assert.equal(sourceDateEpoch({}), 1492533000);
  assert.equal(sourceDateEpoch({ SOURCE_DATE_EPOCH: 'yesterday' }), 1492533000);
  assert.equal(sourceDateEpoch({ SOURCE_DATE_EPOCH: '-1' }), 1492533000);
});
