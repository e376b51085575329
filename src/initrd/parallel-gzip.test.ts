import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { parallelGzip } from './parallel-gzip.ts';

async function gz(data: Buffer, opts: Parameters<typeof parallelGzip>[0]): Promise<Buffer> {
  const out: Buffer[] = [];
  const chunks = [];
  for (let i = 0; i < data.length; i += 7000) chunks.push(data.subarray(i, i + 7000));
  for await (const c of parallelGzip(opts)(Readable.from(chunks))) out.push(c);
  return Buffer.concat(out);
}

void test('decompresses (Node and GNU gzip) to the input for empty, tiny, exact-block and multi-block inputs', async () => {
  const text = Buffer.from('the quick brown fox jumps over the lazy dog\n'.repeat(3000)); // 132000 bytes, compressible
  for (const data of [Buffer.alloc(0), Buffer.from('x'), text.subarray(0, 65536), text, randomBytes(200_000)]) {
    const z = await gz(data, { blockSize: 65536 });
    assert.deepEqual(gunzipSync(z), data, `${data.length} bytes`);
    assert.deepEqual(execFileSync('gzip', ['-dc'], { input: z }), data);
  }
});

void test('output does not depend on concurrency; header is Go-like (mtime 0, OS 255)', async () => {
  const data = Buffer.concat([randomBytes(100_000), Buffer.from('abc'.repeat(100_000))]);
  const one = await gz(data, { blockSize: 32768, concurrency: 1 });
  const four = await gz(data, { blockSize: 32768, concurrency: 4 });
  assert.ok(one.equals(four));
  assert.deepEqual([...one.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  // the dictionary carries across blocks: repetitive data compresses as well as in one block
  const blocked = await gz(Buffer.from('abc'.repeat(100_000)), { blockSize: 32768 });
  assert.ok(blocked.length < 3000, `${blocked.length} bytes`);
});

void test('block buffers are used again many times without a block changing before it is deflated', async () => {
  // Blocks long enough to deflate for milliseconds, so a buffer filled again too early would show.
  const text = Buffer.from('the quick brown fox jumps over the lazy dog\n'.repeat(20_000));
  const mixed = Buffer.concat([randomBytes(1_500_000), text, randomBytes(777_777)]);
  for (const data of [Buffer.alloc(0), Buffer.from('x'), mixed.subarray(0, 4 * 262144), mixed]) {
    const one = await gz(data, { blockSize: 262144, concurrency: 1 });
    const four = await gz(data, { blockSize: 262144, concurrency: 4 });
    assert.ok(one.equals(four), `${data.length} bytes`);
    assert.deepEqual(gunzipSync(four), data);
  }
});
