import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { digestOf } from './digest.ts';
import { verifyBuffer, verifyStream } from './verify.ts';

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

void test('a whole buffer gets the same checks and the same errors as a stream', async () => {
  assert.equal(verifyBuffer(data, good, data.length), data);
  for (const [digest, size] of [
    [digestOf('something else'), data.length],
    [good, data.length + 1],
    [good, 4],
  ] as const) {
    const streamed = await buffer(verifyStream(Readable.from([data]), digest, size, { subject: 'cached blob' })).then(
      () => undefined,
      (err: unknown) => err as Error & { code?: string },
    );
    assert.ok(streamed !== undefined);
    assert.throws(() => verifyBuffer(data, digest, size, { subject: 'cached blob' }), {
      code: streamed.code,
      message: streamed.message,
    });
  }
});
