import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { BLOCK, F, readNumber, writeBytes, writeChecksum, writeOctal, type Field } from './fields.ts';
import { readTar } from './read.ts';

const GIB = 2 ** 30;

/** A GNU base-256 number in `f`: 0x80 marker in the first byte, big-endian two's complement in the rest. */
function writeBase256(block: Buffer, f: Field, n: bigint): void {
  const [off, len] = F[f];
  let v = n < 0n ? (1n << BigInt(8 * len)) + n : n;
  for (let i = len - 1; i >= 0; i--) {
    block[off + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  block[off] = (block[off] ?? 0) | 0x80;
}

/** A ustar file header whose size and uid are base-256 (what GNU tar and Go write past the octal limits). */
function bigHeader(size: bigint, uid: bigint): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeBytes(block, 'name', Buffer.from('huge.img'));
  writeOctal(block, 'mode', 0o644);
  writeBase256(block, 'uid', uid);
  writeOctal(block, 'gid', 0);
  writeBase256(block, 'size', size);
  writeOctal(block, 'mtime', 1492533000);
  block[156] = 0x30;
  writeBytes(block, 'magic', Buffer.from('ustar\0'));
  writeBytes(block, 'version', Buffer.from('00'));
  writeChecksum(block);
  return block;
}

/** The header, then zero chunks made only when pulled: the 10 GiB body is never materialised. */
function* lazyChunks(header: Buffer): Generator<Buffer> {
  yield header;
  const zeros = Buffer.alloc(64 * 1024);
  for (;;) yield zeros;
}

void test('base-256 numbers: sizes past the 8 GiB octal limit, uids past 2097151, negative values', () => {
  const block = bigHeader(10n * BigInt(GIB) + 5n, 3_000_000_000n);
  assert.equal(readNumber(block, 'size'), 10 * GIB + 5);
  assert.ok(readNumber(block, 'size')! > 8 * GIB);
  assert.equal(readNumber(block, 'uid'), 3_000_000_000);
  assert.equal(readNumber(block, 'mode'), 0o644);
  const negative = Buffer.alloc(BLOCK);
  writeBase256(negative, 'size', -1n);
  assert.equal(readNumber(negative, 'size'), -1);
});

void test('readTar takes a base-256 size (10 GiB) and uid from a header without reading the body', async () => {
  const size = 10 * GIB + 5;
  let seen = 0;
  for await (const { header, body } of readTar(Readable.from(lazyChunks(bigHeader(BigInt(size), 3_000_000_000n))))) {
    seen++;
    assert.equal(header.name, 'huge.img');
    assert.equal(header.type, 'file');
    assert.equal(header.size, size);
    assert.equal(header.uid, 3_000_000_000);
    assert.equal(header.mtime, 1492533000);
    body?.destroy();
    break;
  }
  assert.equal(seen, 1);
});

void test('readTar refuses a negative base-256 size', async () => {
  const block = bigHeader(-1n, 0n);
  await assert.rejects(
    (async () => {
      for await (const e of readTar(Readable.from([block]), { subject: 'neg.tar' })) e.body?.destroy();
    })(),
    { code: 'UNSAFE_CONTENT', message: 'Cannot read tar "neg.tar": bad size field (at byte 0)' },
  );
});
