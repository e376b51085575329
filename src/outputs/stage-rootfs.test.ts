import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeTarFile, type TarFileEntry } from '../../test/helpers/tar-file.ts';
import { stageRootfs } from './stage-rootfs.ts';

const dir = mkdtempSync(join(tmpdir(), 'mobyts-stage-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function tarOf(name: string, entries: TarFileEntry[]): Promise<string> {
  return writeTarFile(join(dir, `${name}.tar`), entries);
}

void test('files, dirs, symlinks and hardlinks are staged; owners, modes and devices are reported, last entry wins', async () => {
  const tar = await tarOf('ok', [
    [{ name: 'a', type: 'directory', mode: 0o555 }],
    [{ name: 'a/f', mode: 0o4711, uid: 7, gid: 8 }, 'one'],
    [{ name: 'a/f', mode: 0o640, uid: 9, gid: 9 }, 'two'],
    [{ name: 'a/l', type: 'symlink', linkname: 'f' }],
    [{ name: 'a/h', type: 'link', linkname: 'a/f' }],
    [{ name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 }],
  ]);
  const staged = await stageRootfs(tar, join(dir, 'ok'));
  assert.equal(readFileSync(join(dir, 'ok/a/f'), 'utf8'), 'two');
  assert.equal(readlinkSync(join(dir, 'ok/a/l')), 'f');
  assert.equal(lstatSync(join(dir, 'ok/a/h')).ino, lstatSync(join(dir, 'ok/a/f')).ino);
  assert.equal(lstatSync(join(dir, 'ok/a')).mode & 0o7777, 0o755);
  assert.deepEqual(
    staged.entries.map((e) => [e.path, e.type, e.mode.toString(8), e.uid, e.gid, e.onDisk]),
    [
      ['a', 'directory', '555', 0, 0, true],
      ['a/f', 'file', '640', 9, 9, true],
      ['a/l', 'symlink', '644', 0, 0, true],
      ['a/h', 'link', '640', 9, 9, true], // its target's (one inode), not its own header's
      ['dev/null', 'character-device', '666', 0, 0, false],
    ],
  );
});

void test('paths that leave the directory are refused with UNSAFE_CONTENT', async () => {
  const up = await tarOf('up', [[{ name: '../escape' }, 'x']]);
  await assert.rejects(stageRootfs(up, join(dir, 'up')), {
    code: 'UNSAFE_CONTENT',
    message: 'Cannot stage the filesystem: unsafe path "../escape" in the tar',
  });
  const via = await tarOf('via', [[{ name: 'l', type: 'symlink', linkname: '/etc' }], [{ name: 'l/passwd' }, 'x']]);
  await assert.rejects(stageRootfs(via, join(dir, 'via')), {
    code: 'UNSAFE_CONTENT',
    message: 'Cannot stage the filesystem: "l/passwd" lies under the symlink "l"',
  });
});

void test('the staged root and directories the tar does not list are 0755 whatever the umask', async () => {
  const tar = await tarOf('implicit', [[{ name: 'x/y/z/file', mode: 0o644 }, 'data']]);
  const old = process.umask(0o077);
  try {
    const staged = await stageRootfs(tar, join(dir, 'implicit'));
    for (const d of ['', 'x', 'x/y', 'x/y/z']) assert.equal(lstatSync(join(staged.dir, d)).mode & 0o7777, 0o755, d);
    assert.equal(lstatSync(join(staged.dir, 'x/y/z/file')).mode & 0o7777, 0o644);
  } finally {
    process.umask(old);
  }
});
