import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { decompressed, sniffCompression } from './decompress.ts';

const data = Buffer.from('tar bytes '.repeat(1000));

void test('gzip, zstd and plain streams come out as the plain bytes, decided by magic (even 1-byte chunks)', async () => {
  for (const [kind, bytes] of [
    ['gzip', gzipSync(data)],
    ['zstd', zstdCompressSync(data)],
    ['none', data],
  ] as const) {
    assert.equal(sniffCompression(bytes), kind);
    const oneByte = Readable.from([...bytes.subarray(0, 8)].map((b) => Buffer.from([b])).concat([bytes.subarray(8)]));
    assert.deepEqual(await buffer(await decompressed(oneByte)), data, kind);
  }
  assert.deepEqual(await buffer(await decompressed(Readable.from([]))), Buffer.alloc(0));
});

void test('destroying the result closes the raw stream', async () => {
  const raw = Readable.from(
    (function* () {
      for (;;) yield Buffer.alloc(65536, 1);
    })(),
  );
  const out = await decompressed(raw);
  const closed = once(raw, 'close');
  out.destroy();
  await closed;
  assert.equal(raw.destroyed, true);
});

void test('errors of the raw stream surface on the result', async () => {
  const raw = new Readable({ read() {} });
  raw.push(gzipSync(data).subarray(0, 20));
  const out = await decompressed(raw);
  raw.destroy(new Error('blob digest mismatch'));
  await assert.rejects(buffer(out), /blob digest mismatch/);
});
