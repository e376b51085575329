import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireLock, withLock } from './lock.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function lockPath(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mobyts-lock-'));
  dirs.push(d);
  return join(d, 'index.lock');
}

void test('callers in one process take the lock in the order they asked, one at a time, each holding the file', async () => {
  const path = await lockPath();
  const order: number[] = [];
  let holders = 0;
  await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      withLock(path, async () => {
        holders++;
        assert.equal(holders, 1, 'two holders at once');
        assert.match(await readFile(path, 'utf8'), new RegExp(`^${process.pid} `));
        order.push(i);
        await new Promise((r) => setImmediate(r));
        holders--;
      }),
    ),
  );
  assert.deepEqual(
    order,
    Array.from({ length: 12 }, (_, i) => i),
  );
  await assert.rejects(stat(path), { code: 'ENOENT' });
});

void test('a queued caller that is aborted or times out leaves the queue; those behind it still get the lock', async () => {
  const path = await lockPath();
  const first = await acquireLock(path);
  const ac = new AbortController();
  const aborted = acquireLock(path, { signal: ac.signal });
  const timedOut = acquireLock(path, { timeoutMs: 50 });
  const third = acquireLock(path);
  ac.abort(new Error('stopped'));
  await assert.rejects(aborted, { message: 'stopped' });
  await assert.rejects(timedOut, {
    code: 'LOCK',
    message: `Cannot lock "${path}": another process has held it for too long`,
  });
  await first();
  const release = await third;
  assert.match(await readFile(path, 'utf8'), new RegExp(`^${process.pid} `));
  await release();
  await (
    await acquireLock(path, { timeoutMs: 100 })
  )();
});

void test('a holder whose work throws still lets the next caller in', async () => {
  const path = await lockPath();
  const failing = withLock(path, () => Promise.reject(new Error('boom')));
  const next = withLock(path, () => Promise.resolve('ran'));
  await assert.rejects(failing, { message: 'boom' });
  assert.equal(await next, 'ran');
});
