import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { NewcEncoder, encodeNewcHeader, trailer } from './cpio.ts';
import { entryStreamOf } from '../tar/streams.ts';

void test('header: 13 lowercase hex fields, NUL-terminated name, padded to 4 bytes', () => {
  const b = encodeNewcHeader({
    ino: 721,
    mode: 0o100644,
    uid: 0,
    gid: 0,
    nlink: 1,
    mtime: 0x58f63f08,
    filesize: 5,
    rdevmajor: 0,
    rdevminor: 0,
    name: 'a',
  });
  assert.equal(
    b.toString('latin1'),
    '070701000002d1000081a4000000000000000000000001' +
      '58f63f08' +
      '00000005' +
      '00000003' +
      '00000001' +
      '00000000' +
      '00000000' +
      '00000002' +
      '00000000' +
      'a\0',
  );
  assert.equal(b.length, 112);
  const t = trailer(722);
  assert.equal(t.length, 124); // 110 + "TRAILER!!!\0" (11) = 121, padded to 124
  const fields = [
    '000002d2',
    '00000000',
    '00000000',
    '00000000',
    '00000001',
    '00000000',
    '00000000',
    '00000003',
    '00000001',
    '00000000',
    '00000000',
    '0000000b',
    '00000000',
  ];
  assert.equal(t.toString('latin1'), `070701${fields.join('')}TRAILER!!!\0\0\0\0`);
});

void test('archive: data padded to 4, symlink target as data, trailer, total padded to 512', async () => {
  const enc = new NewcEncoder();
  const parts: Buffer[] = [];
  const entries = entryStreamOf([
    {
      header: { name: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 3 },
      body: Readable.from([Buffer.from('abc')]),
    },
    { header: { name: 'l', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 0, size: 0, linkname: 'f' } },
  ]);
  for await (const c of enc.bytes(entries)) parts.push(c);
  const all = Buffer.concat(parts);
  assert.equal(all.length, 512);
  assert.equal(all.toString('latin1', 112, 116), 'abc\0');
  assert.equal(all.toString('latin1', 116 + 112, 116 + 116), 'f\0\0\0');
  assert.equal(all.toString('latin1', 232 + 110, 232 + 120), 'TRAILER!!!');
  assert.deepEqual(enc.nlinkPatches(), []);
});
