/** Interop: archives from writeTar are listed and extracted by GNU tar, xattrs and hardlinks included. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entryStreamOf } from '../../src/tar/streams.ts';
import { execFileSync } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  mkdtempSync,
  rmSync,
  statSync,
  readFileSync,
  mkdirSync,
  writeFileSync,
  linkSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { writeTar } from '../../src/tar/write.ts';
import { readTar } from '../../src/tar/read.ts';
import type { TarEntry } from '../../src/tar/entry.ts';

const CAP = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // cap_net_raw+ep
const T = 1492533000;

function entries(): TarEntry[] {
  const f = (name: string, data: string, extra: Partial<TarEntry['header']> = {}): TarEntry => ({
    header: { name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: T, size: data.length, ...extra },
    body: Readable.from([Buffer.from(data)]),
  });
  return [
    { header: { name: 'bin', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: T, size: 0 } },
    f('bin/ping', 'PING', {
      mode: 0o4755,
      uname: 'root',
      gname: 'root',
      pax: [['SCHILY.xattr.security.capability', CAP]],
    }),
    {
      header: {
        name: 'bin/ping6',
        type: 'link',
        linkname: 'bin/ping',
        mode: 0o4755,
        uid: 0,
        gid: 0,
        mtime: T,
        size: 0,
      },
    },
    {
      header: {
        name: 'bin/sh',
        type: 'symlink',
        linkname: '/bin/busybox',
        mode: 0o777,
        uid: 0,
        gid: 0,
        mtime: T,
        size: 0,
      },
    },
    {
      header: {
        name: `bin/${'long'.repeat(40)}`,
        type: 'directory',
        mode: 0o700,
        uid: 1000,
        gid: 1000,
        mtime: T,
        size: 0,
      },
    },
    f(`bin/${'long'.repeat(40)}/${'n'.repeat(99)}`, 'deep', { uid: 3_000_000 }),
  ];
}

// Directory names carry no trailing `/`, exactly like Go archive/tar writes cleaned names
// (docs/linuxkit-behaviour.md#tar-encoding).
void test('GNU tar lists and extracts our archive: modes, long names, hardlinks, symlinks, security.capability', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mobyts-tar-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'out.tar');
  await writeTar(entryStreamOf(entries()), createWriteStream(file));
  const listing = execFileSync('tar', ['--numeric-owner', '--utc', '-tvf', file], { encoding: 'utf8' })
    .trim()
    .split('\n');
  assert.deepEqual(listing, [
    'drwxr-xr-x 0/0               0 2017-04-18 16:30 bin',
    '-rwsr-xr-x 0/0               4 2017-04-18 16:30 bin/ping',
    'hrwsr-xr-x 0/0               0 2017-04-18 16:30 bin/ping6 link to bin/ping',
    'lrwxrwxrwx 0/0               0 2017-04-18 16:30 bin/sh -> /bin/busybox',
    `drwx------ 1000/1000         0 2017-04-18 16:30 bin/${'long'.repeat(40)}`,
    `-rw-r--r-- 3000000/0         4 2017-04-18 16:30 bin/${'long'.repeat(40)}/${'n'.repeat(99)}`,
  ]);
  const root = join(dir, 'x');
  mkdirSync(root);
  execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-xpf', file, '-C', root]);
  const ping = join(root, 'bin/ping');
  assert.equal(statSync(ping).ino, statSync(join(root, 'bin/ping6')).ino);
  assert.equal(readFileSync(ping, 'utf8'), 'PING');
  const got = execFileSync(
    'python3',
    ['-c', 'import os,sys;sys.stdout.write(os.getxattr(sys.argv[1],"security.capability").hex())', ping],
    { encoding: 'utf8' },
  );
  assert.equal(got, CAP.toString('hex'));
});

void test('readTar reads archives GNU tar wrote (pax with xattrs, hardlinks) with the same content', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mobyts-tar-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, 'src');
  mkdirSync(join(src, 'd'), { recursive: true });
  writeFileSync(join(src, 'd/f'), 'content');
  linkSync(join(src, 'd/f'), join(src, 'd/g'));
  symlinkSync('../etc', join(src, 'd/s'));
  execFileSync('python3', ['-c', 'import os,sys;os.setxattr(sys.argv[1],"user.k",b"\\x00\\xffv")', join(src, 'd/f')]);
  const file = join(dir, 'gnu.tar');
  execFileSync('tar', ['--format=posix', '--xattrs', '--xattrs-include=*', '--sort=name', '-cf', file, '-C', src, 'd']);
  const got: string[] = [];
  for await (const e of readTar(createReadStream(file))) {
    const x = e.header.pax?.find(([k]) => k === 'SCHILY.xattr.user.k')?.[1].toString('hex') ?? '';
    got.push([e.header.type, e.header.name, e.header.linkname, x].filter((s) => s !== undefined && s !== '').join(' '));
  }
  assert.deepEqual(got, ['directory d', 'file d/f 00ff76', 'link d/g d/f', 'symlink d/s ../etc']);
});
