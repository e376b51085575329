/** The initrd writer against GNU cpio, gzip and zstd: listings, extraction, hardlinks, determinism. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import {
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { writeInitrd, type InitrdCompression, type InitrdResult } from '../../src/initrd/initrd.ts';
import { entryStreamOf } from '../../src/tar/streams.ts';
import { recordingReporter, silentReporter } from '../../src/util/reporter.ts';
import type { TarEntry } from '../../src/tar/entry.ts';
import { KERNEL, osEntries } from './fixture.ts';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'mobyts-initrd-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function build(
  dir: string,
  name: string,
  compress: InitrdCompression,
  extra: Partial<Parameters<typeof writeInitrd>[1]> = {},
  entries: TarEntry[] = osEntries(),
): Promise<{ file: string; result: InitrdResult }> {
  const file = join(dir, name);
  const result = await writeInitrd(entryStreamOf(entries), {
    compress,
    out: createWriteStream(file),
    reporter: silentReporter,
    ...extra,
  });
  return { file, result };
}

void test('GNU cpio lists exactly our entries: boot/* split out, boot kept, real hardlink nlink counts', async (t) => {
  const dir = tempDir(t);
  const { file, result } = await build(dir, 'initrd.cpio', 'none');
  assert.deepEqual(result, { kernel: KERNEL, cmdline: 'console=ttyS0' });
  const listing = execFileSync('cpio', ['-itvn', '--quiet', '-F', file], {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC' },
  });
  assert.equal(
    listing,
    [
      'drwxr-xr-x   2 0        0               0 Apr 18  2017 boot',
      'drwxr-xr-x   2 0        0               0 Apr 18  2017 bin',
      '-rwxr-xr-x   1 0        0               7 Apr 18  2017 bin/busybox',
      'lrwxrwxrwx   1 0        0              12 Apr 18  2017 bin/sh -> /bin/busybox',
      '-rwsr-xr-x   1 0        0               4 Apr 18  2017 bin/ping',
      'drwxr-xr-x   2 0        0               0 Apr 18  2017 usr',
      'drwxr-xr-x   2 5        6               0 Apr 18  2017 usr/bin',
      '-rwxr-xr-x   3 0        0               4 Apr 18  2017 usr/bin/git',
      '-rwxr-xr-x   3 0        0               0 Apr 18  2017 usr/bin/git-receive-pack',
      '-rwxr-xr-x   3 0        0               0 Apr 18  2017 usr/bin/git-upload-archive',
      'drwxrwxrwt   2 0        0               0 Apr 18  2017 run',
      'prw-------   1 0        0               0 Apr 18  2017 run/fifo',
      'drwxr-xr-x   2 0        0               0 Apr 18  2017 etc',
      '-rw-r--r--   1 0        0              20 Jan  1  1970 etc/hosts',
      '',
    ].join('\n'),
  );
  assert.equal(statSync(file).size % 512, 0);
  // newc headers: inode numbers from 721, devmajor:devminor 3:1 (LinuxKit's constants)
  const head = readFileSync(file).toString('latin1', 0, 110);
  assert.equal(
    head,
    `070701000002d1000041ed000000000000000000000002${'58f63f08'}00000000000000030000000100000000000000000000000500000000`,
  );
});

void test('cpio -id extracts hardlinks as one inode with the content, symlinks and modes intact', async (t) => {
  const dir = tempDir(t);
  const { file } = await build(dir, 'initrd.cpio', 'none');
  const root = join(dir, 'root');
  mkdirSync(root);
  execFileSync('cpio', ['-id', '--quiet', '-F', file], { cwd: root });
  const git = statSync(join(root, 'usr/bin/git'));
  assert.equal(statSync(join(root, 'usr/bin/git-receive-pack')).ino, git.ino);
  assert.equal(statSync(join(root, 'usr/bin/git-upload-archive')).ino, git.ino);
  assert.equal(git.nlink, 3);
  assert.equal(readFileSync(join(root, 'usr/bin/git-upload-archive'), 'utf8'), 'GIT!');
  assert.equal(readlinkSync(join(root, 'bin/sh')), '/bin/busybox');
  assert.equal(statSync(join(root, 'bin/ping')).mode & 0o7777, 0o4755);
  assert.throws(() => statSync(join(root, 'boot/kernel')), { code: 'ENOENT' });
});

void test('gzip and zstd initrds decompress with the standard tools to the same cpio; gzip header is LinuxKit-like', async (t) => {
  const dir = tempDir(t);
  const plain = readFileSync((await build(dir, 'plain', 'none')).file);
  const gz = readFileSync((await build(dir, 'gz', 'gzip')).file);
  const zst = readFileSync((await build(dir, 'zst', 'zstd')).file);
  assert.deepEqual(execFileSync('gzip', ['-dc'], { input: gz }), plain);
  assert.deepEqual(execFileSync('zstd', ['-dc'], { input: zst }), plain);
  // magic, deflate, no flags, mtime 0, xfl 0, OS 255 (Go's compress/gzip "unknown")
  assert.deepEqual([...gz.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  assert.equal(gz.length % 4, 0); // zero-padded like LinuxKit's pad4 writer
});

void test('two writes of the same entries are byte-identical', async (t) => {
  const dir = tempDir(t);
  for (const kind of ['gzip', 'zstd'] as const) {
    const a = readFileSync((await build(dir, `a.${kind}`, kind)).file);
    const b = readFileSync((await build(dir, `b.${kind}`, kind)).file);
    assert.ok(a.equals(b), kind);
  }
});

void test('ucode is prepended uncompressed: from the stream, or from a file; or not at all', async (t) => {
  const dir = tempDir(t);
  const ucode = Buffer.from('070701 fake microcode cpio');
  const withUcode = (): TarEntry[] => [
    ...osEntries(),
    {
      header: { name: 'boot/ucode.cpio', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: ucode.length },
      body: Readable.from([ucode]),
    },
  ];
  const { file, result } = await build(dir, 'u.gz', 'gzip', {}, withUcode());
  assert.deepEqual(result.ucode, ucode);
  const bytes = readFileSync(file);
  assert.deepEqual(bytes.subarray(0, ucode.length), ucode);
  const plain = readFileSync((await build(dir, 'plain', 'none')).file);
  assert.deepEqual(execFileSync('gzip', ['-dc'], { input: bytes.subarray(ucode.length) }), plain);
  const other = join(dir, 'other.cpio');
  writeFileSync(other, 'OTHER');
  assert.equal(
    readFileSync((await build(dir, 'o.gz', 'gzip', { ucode: other }, withUcode())).file).toString('latin1', 0, 5),
    'OTHER',
  );
  assert.equal(readFileSync((await build(dir, 'n.gz', 'gzip', { prependUcode: false }, withUcode())).file)[0], 0x1f);
});

void test('xattrs are reported once as lost; files of 4 GiB are refused by name', async (t) => {
  const dir = tempDir(t);
  const reporter = recordingReporter();
  const cap = (name: string, value: Buffer, more: Array<[string, Buffer]> = []): TarEntry => ({
    header: {
      name,
      type: 'file',
      mode: 0o755,
      uid: 0,
      gid: 0,
      mtime: 0,
      size: 0,
      pax: [['SCHILY.xattr.security.capability', value], ...more],
    },
  });
  // cap_net_raw=ep as Debian's iputils-ping ships it (vfs_cap_data revision 2).
  const netRaw = Buffer.from([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const extra = [cap('usr/bin/ping', netRaw), cap('usr/bin/x', netRaw, [['SCHILY.xattr.user.note', Buffer.from('n')]])];
  await build(dir, 'x', 'none', { reporter }, [...osEntries(), ...extra]);
  assert.deepEqual(reporter.events, [
    {
      type: 'warn',
      message:
        'The initrd cannot hold extended attributes (newc has none): dropped them from 3 file(s): "bin/ping" (security.capability), "usr/bin/ping" (cap_net_raw=ep), "usr/bin/x" (cap_net_raw=ep; user.note); in the booted system these files lack them (only the tar output keeps extended attributes)',
    },
  ]);
  const huge: TarEntry = {
    header: { name: 'var/big.img', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 2 ** 32 },
    body: Readable.from([]),
  };
  const out = createWriteStream(join(dir, 'huge'));
  await once(out, 'open'); // the refusal comes before any write: let the file exist before it is destroyed
  await assert.rejects(writeInitrd(entryStreamOf([huge]), { compress: 'gzip', out, reporter: silentReporter }), {
    code: 'BUILD',
    message:
      'Cannot put "var/big.img" into the initrd: it is 4294967296 bytes; newc cannot hold files of 4 GiB or more',
  });
  assert.equal(out.destroyed, true);
});
