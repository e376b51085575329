import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entryStreamOf } from './streams.ts';
import { encodeHeader, paxHeaderName, splitUstarPath, tarBytes } from './write.ts';
import type { TarEntry, TarHeader } from './entry.ts';

/** Builds a header block field by field from literal text, independent of the writer's code. */
function block(fields: Array<[offset: number, text: string]>): Buffer {
  const b = Buffer.alloc(512);
  for (const [off, text] of fields) b.write(text, off, 'latin1');
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

const LK_MTIME = 1492533000; // 2017-04-18T16:30:00Z = octal 13075437410

void test('a plain file is one ustar block with Go-style zero-padded octal fields', () => {
  const h: TarHeader = { name: 'etc/hosts', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: LK_MTIME, size: 5 };
  const expected = block([
    [0, 'etc/hosts'],
    [100, '0000644\0'],
    [108, '0000000\0'],
    [116, '0000000\0'],
    [124, '00000000005\0'],
    [136, '13075437410\0'],
    [156, '0'],
    [257, 'ustar\x0000'],
    [329, '0000000\0'],
    [337, '0000000\0'],
  ]);
  assert.deepEqual(encodeHeader(h), expected);
});

void test('PAX records go into an x header named <dir>/PaxHeaders.0/<base>, sorted by key', () => {
  const h: TarHeader = {
    name: 'bin/ping',
    type: 'file',
    mode: 0o755,
    uid: 0,
    gid: 0,
    uname: 'root',
    gname: 'root',
    mtime: 0,
    size: 0,
    pax: [
      ['SCHILY.xattr.user.foo', Buffer.from('bar')],
      ['LINUXKIT.source', Buffer.from('alpine')],
    ],
  };
  const records = '26 LINUXKIT.source=alpine\n29 SCHILY.xattr.user.foo=bar\n';
  const x = block([
    [0, 'bin/PaxHeaders.0/ping'],
    [100, '0000000\0'],
    [108, '0000000\0'],
    [116, '0000000\0'],
    [124, `${records.length.toString(8).padStart(11, '0')}\0`],
    [136, '00000000000\0'],
    [156, 'x'],
    [257, 'ustar\x0000'],
  ]);
  const main = block([
    [0, 'bin/ping'],
    [100, '0000755\0'],
    [108, '0000000\0'],
    [116, '0000000\0'],
    [124, '00000000000\0'],
    [136, '00000000000\0'],
    [156, '0'],
    [257, 'ustar\x0000'],
    [265, 'root'],
    [297, 'root'],
    [329, '0000000\0'],
    [337, '0000000\0'],
  ]);
  const body = Buffer.alloc(512);
  body.write(records, 0, 'latin1');
  assert.deepEqual(encodeHeader(h), Buffer.concat([x, body, main]));
});

void test('binary xattr values are written byte-exact', () => {
  const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex');
  const out = encodeHeader({
    name: 'x',
    type: 'file',
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtime: 0,
    size: 0,
    pax: [['SCHILY.xattr.security.capability', cap]],
  });
  const rec = Buffer.concat([Buffer.from('57 SCHILY.xattr.security.capability='), cap, Buffer.from('\n')]);
  assert.equal(rec.length, 57);
  assert.deepEqual(out.subarray(512, 512 + rec.length), rec);
  assert.equal(out.toString('latin1', 0, 14), 'PaxHeaders.0/x');
});

void test('long names without records are split into ustar prefix/name like Go', () => {
  const name = `${'a'.repeat(60)}/${'b'.repeat(60)}`;
  assert.deepEqual(splitUstarPath(name), ['a'.repeat(60), 'b'.repeat(60)]);
  const out = encodeHeader({ name, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 });
  assert.equal(out.length, 512);
  assert.equal(out.toString('latin1', 0, 61), `${'b'.repeat(60)}\0`);
  assert.equal(out.toString('latin1', 345, 406), `${'a'.repeat(60)}\0`);
  assert.equal(out[156], 0x35);
});

void test('unsplittable long names and long link targets use a PAX path/linkpath record', () => {
  const name = 'c'.repeat(120);
  assert.equal(splitUstarPath(name), undefined);
  const out = encodeHeader({
    name: 'l',
    type: 'symlink',
    mode: 0o777,
    uid: 0,
    gid: 0,
    mtime: 0,
    size: 0,
    linkname: name,
  });
  assert.equal(out.toString('latin1', 512, 512 + 134), `134 linkpath=${name}\n`);
  // main header: link name truncated to the 100-byte field, no NUL
  assert.equal(out.toString('latin1', 1024 + 157, 1024 + 257), 'c'.repeat(100));
  const withRecord = encodeHeader({
    name,
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: 0,
    size: 0,
    pax: [['LINUXKIT.location', Buffer.from('init')]],
  });
  assert.equal(withRecord.toString('latin1', 0, 100), `PaxHeaders.0/${'c'.repeat(87)}`);
  assert.match(withRecord.toString('latin1', 512, 1024), /^26 LINUXKIT.location=init\n130 path=c{120}\n\0/);
});

void test('big uid and size values go to PAX records, the ustar field becomes zero', () => {
  const out = encodeHeader({
    name: 'big',
    type: 'file',
    mode: 0o644,
    uid: 3_000_000,
    gid: 0,
    mtime: 0,
    size: 9 * 2 ** 30,
  });
  assert.equal(out.toString('latin1', 512, 512 + 31), '19 size=9663676416\n15 uid=3000000\n'.slice(0, 31));
  assert.equal(out.toString('latin1', 1024 + 124, 1024 + 136), '00000000000\0');
  assert.equal(out.toString('latin1', 1024 + 108, 1024 + 116), '0000000\0');
});

void test('PaxHeaders names follow path.Join', () => {
  assert.equal(paxHeaderName('etc'), 'PaxHeaders.0/etc');
  assert.equal(paxHeaderName('a/b/c'), 'a/b/PaxHeaders.0/c');
});

void test('the archive ends with exactly two zero blocks and bodies are padded to 512', async () => {
  const { Readable } = await import('node:stream');
  const chunks: Buffer[] = [];
  const entries: TarEntry[] = [
    {
      header: { name: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 3 },
      body: Readable.from([Buffer.from('abc')]),
    },
  ];
  for await (const c of tarBytes(entryStreamOf(entries))) chunks.push(c);
  const all = Buffer.concat(chunks);
  assert.equal(all.length, 512 + 512 + 1024);
  assert.equal(all.toString('latin1', 512, 515), 'abc');
  assert.ok(all.subarray(515).every((b) => b === 0));
});

void test('a body shorter than its size is an error naming the entry', async () => {
  const { Readable } = await import('node:stream');
  const gen = tarBytes(
    entryStreamOf([
      {
        header: { name: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 4 },
        body: Readable.from([Buffer.from('abc')]),
      },
    ]),
  );
  await assert.rejects(async () => {
    for await (const _ of gen) {
      /* drain */
    }
  }, /Cannot write tar entry "f": body has fewer bytes than its size 4/);
});

void test('the root directory (clean name empty) is written as "."', () => {
  const out = encodeHeader({ name: '', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 });
  assert.equal(out.toString('latin1', 0, 2), '.\0');
});
