import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entryStreamOf } from './streams.ts';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { readTar } from './read.ts';
import { tarBytes } from './write.ts';
import type { TarEntry, TarHeader } from './entry.ts';

const base = { mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0 };

async function archive(entries: Array<{ header: TarHeader; data?: string }>): Promise<Buffer> {
  const list: TarEntry[] = entries.map(({ header, data }) =>
    data === undefined ? { header } : { header, body: Readable.from([Buffer.from(data)]) },
  );
  const out: Buffer[] = [];
  for await (const c of tarBytes(entryStreamOf(list))) out.push(c);
  return Buffer.concat(out);
}

/** Splits a buffer into small chunks so header/body boundaries fall mid-chunk. */
function chunked(b: Buffer, size = 100): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) parts.push(b.subarray(i, i + size));
  return Readable.from(parts);
}

void test('reads what the writer wrote, PAX records (binary) included, across odd chunk boundaries', async () => {
  const cap = Buffer.from([1, 0, 0, 2, 0xff, 0, 0x0a, 0x3d]);
  const long = `${'d'.repeat(90)}/${'e'.repeat(90)}/f`;
  const tar = await archive([
    { header: { ...base, name: 'dir', type: 'directory', mode: 0o755 } },
    {
      header: { ...base, name: 'dir/file', type: 'file', size: 5, pax: [['SCHILY.xattr.security.capability', cap]] },
      data: 'hello',
    },
    { header: { ...base, name: long, type: 'file', size: 3, uname: 'ü'.repeat(20) }, data: 'abc' },
    { header: { ...base, name: 'dir/hl', type: 'link', linkname: 'dir/file' } },
  ]);
  const seen: Array<[TarHeader, string]> = [];
  for await (const e of readTar(chunked(tar, 77)))
    seen.push([e.header, e.body === undefined ? '' : await text(e.body)]);
  assert.deepEqual(
    seen.map(([h]) => h.name),
    ['dir', 'dir/file', long, 'dir/hl'],
  );
  assert.deepEqual(seen[1]![0].pax, [['SCHILY.xattr.security.capability', cap]]);
  assert.equal(seen[1]![1], 'hello');
  assert.equal(seen[2]![0].uname, 'ü'.repeat(20));
  assert.equal(seen[2]![1], 'abc');
  assert.equal(seen[3]![0].linkname, 'dir/file');
});

void test('unread bodies are skipped when the next entry is requested', async () => {
  const tar = await archive([
    { header: { ...base, name: 'a', type: 'file', size: 1000 }, data: 'x'.repeat(1000) },
    { header: { ...base, name: 'b', type: 'file', size: 2 }, data: 'ok' },
  ]);
  const bodies: string[] = [];
  for await (const e of readTar(chunked(tar))) if (e.header.name === 'b') bodies.push(await text(e.body!));
  assert.deepEqual(bodies, ['ok']);
});

function gnuHeader(name: string, flag: string, size: number): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 'latin1');
  b.write('0000644\0', 100, 'latin1');
  b.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  b.write(flag, 156, 'latin1');
  b.write('ustar  \0', 257, 'latin1');
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

void test('GNU long names (L) and LIBARCHIVE xattrs are understood', async () => {
  const long = `${'g'.repeat(150)}/name`;
  const pad = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
  const pax = Buffer.from(
    '53 LIBARCHIVE.xattr.user.k%3Dv=AQID\n'.replace('53', String('LIBARCHIVE.xattr.user.k%3Dv=AQID\n'.length + 3)),
  );
  const tar = Buffer.concat([
    gnuHeader('././@LongLink', 'L', long.length + 1),
    pad(Buffer.from(`${long}\0`)),
    gnuHeader('truncated', '0', 0),
    gnuHeader('PaxHeaders/x', 'x', pax.length),
    pad(pax),
    gnuHeader('x', '0', 0),
    Buffer.alloc(1024),
  ]);
  const got: TarHeader[] = [];
  for await (const e of readTar(chunked(tar))) got.push(e.header);
  assert.equal(got[0]!.name, long);
  assert.deepEqual(got[1]!.pax, [['SCHILY.xattr.user.k=v', Buffer.from([1, 2, 3])]]);
});

void test('a corrupted header is rejected with UNSAFE_CONTENT naming the archive and offset', async () => {
  const tar = await archive([
    { header: { ...base, name: 'a', type: 'file', size: 1 }, data: 'x' },
    { header: { ...base, name: 'b', type: 'directory' } },
  ]);
  tar[1024] = 0x41; // first byte of the second header's name
  await assert.rejects(
    async () => {
      for await (const _ of readTar(chunked(tar), { subject: 'layer L' })) {
        /* */
      }
    },
    { code: 'UNSAFE_CONTENT', message: 'Cannot read tar "layer L": header checksum mismatch (at byte 1024)' },
  );
});

void test('a truncated body fails instead of yielding short content', async () => {
  const tar = await archive([{ header: { ...base, name: 'a', type: 'file', size: 600 }, data: 'y'.repeat(600) }]);
  await assert.rejects(async () => {
    for await (const e of readTar(chunked(tar.subarray(0, 700)), { subject: 'L' })) await text(e.body!);
  }, /Cannot read tar "L: a": archive ends inside the file body/);
});

void test('the source is read to its end after the end-of-archive marker', async () => {
  const tar = await archive([{ header: { ...base, name: 'a', type: 'directory' } }]);
  let ended = false;
  const src = chunked(Buffer.concat([tar, Buffer.alloc(8192)]));
  src.on('end', () => (ended = true));
  for await (const _ of readTar(src)) {
    /* */
  }
  assert.equal(ended, true);
});

void test('V7 directories (type NUL, trailing slash) are directories', async () => {
  const dir = gnuHeader('olddir/', '\0', 0);
  const got: TarHeader[] = [];
  for await (const e of readTar(chunked(Buffer.concat([dir, Buffer.alloc(1024)])))) got.push(e.header);
  assert.deepEqual(
    got.map((h) => [h.name, h.type]),
    [['olddir', 'directory']],
  );
});

void test('global PAX records (g) apply to every later entry; local records override them', async () => {
  const pad = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
  const g = Buffer.from('12 uid=4242\n17 LINUXKIT.x=gg\n');
  const x = Buffer.from('17 LINUXKIT.x=ll\n');
  const tar = Buffer.concat([
    gnuHeader('g', 'g', g.length),
    pad(g),
    gnuHeader('a', '0', 0),
    gnuHeader('x', 'x', x.length),
    pad(x),
    gnuHeader('b', '0', 0),
    Buffer.alloc(1024),
  ]);
  const got: TarHeader[] = [];
  for await (const e of readTar(chunked(tar))) got.push(e.header);
  assert.deepEqual(
    got.map((h) => [h.name, h.uid, h.pax?.[0]?.[1].toString()]),
    [
      ['a', 4242, 'gg'],
      ['b', 4242, 'll'],
    ],
  );
});
