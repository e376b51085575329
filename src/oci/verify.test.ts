import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { digestOf } from './digest.ts';
import { verifyStream } from './verify.ts';

const data = Buffer.from('layer bytes');
const good = digestOf(data);

void test('passes matching content through unchanged', async () => {
  assert.deepEqual(
    await buffer(verifyStream(Readable.from([data.subarray(0, 3), data.subarray(3)]), good, data.length)),
    data,
  );
});

void test('fails at end of stream naming both digests', async () => {
  const other = digestOf('something else');
  await assert.rejects(
    buffer(verifyStream(Readable.from([data]), other, data.length, { subject: 'layer of alpine' })),
    {
      code: 'DIGEST_MISMATCH',
      message: `Cannot verify blob ${other} (layer of alpine): content has digest ${good}, expected ${other}`,
    },
  );
});

void test('fails on a size mismatch, short or long', async () => {
  await assert.rejects(buffer(verifyStream(Readable.from([data]), good, data.length + 1)), /got 11 bytes, expected 12/);
  await assert.rejects(buffer(verifyStream(Readable.from([data]), good, 4)), /it is longer than the expected 4 bytes/);
});

void test('forwards source errors', async () => {
  const src = new Readable({
    read() {
      this.destroy(new Error('disk on fire'));
    },
  });
  await assert.rejects(buffer(verifyStream(src, good)), /disk on fire/);
});
