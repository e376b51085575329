import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { writeRecordAfterTick } from './atomic.ts';
import { fileIdentity, identityCtime, settledIdentity } from './file-identity.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mobyts-identity-'));
});
after(() => rm(dir, { recursive: true, force: true }));

void test('a rewrite with the same size and times restored is another identity; a missing file has none', async () => {
  const f = join(dir, 'a');
  await writeFile(f, 'one');
  const first = fileIdentity(f);
  const { atime, mtime } = await stat(f);
  await sleep(30);
  await writeFile(f, 'two');
  await utimes(f, atime, mtime);
  const second = fileIdentity(f);
  assert.notEqual(second, first, 'the change time moved');
  assert.equal(fileIdentity(join(dir, 'none')), null);
});

void test('a file changed this very tick is not recorded; one changed earlier is', async () => {
  const f = join(dir, 'b');
  await writeFile(f, 'x');
  assert.equal(settledIdentity(f), null);
  await sleep(60);
  assert.equal(settledIdentity(f), fileIdentity(f));
});

void test('a record is written only once the file-time clock has passed what it holds', async () => {
  const out = join(dir, 'output');
  await writeFile(out, 'bytes');
  const id = fileIdentity(out);
  const record = join(dir, 'record.json');
  await writeRecordAfterTick(record, JSON.stringify({ id }), identityCtime(id));
  assert.deepEqual(JSON.parse(await readFile(record, 'utf8')), { id });
  assert.ok((await stat(record, { bigint: true })).ctimeNs > identityCtime(id));
  // so a write to the output from now on is seen, however soon
  await writeFile(out, 'BYTES');
  assert.notEqual(fileIdentity(out), id);
});

void test('no record when the file-time clock does not pass what it would hold', async () => {
  const record = join(dir, 'never.json');
  const future = BigInt(Date.now() + 3_600_000) * 1_000_000n;
  await assert.rejects(writeRecordAfterTick(record, '{}', future), /do not move within 100 ms/);
  await assert.rejects(stat(record), { code: 'ENOENT' });
});
