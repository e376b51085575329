/**
 * `mobyts build` with host tools missing: one error naming all of them with install hints, exit code 1,
 * before anything is pulled (the images here do not exist anywhere) and with no output files.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';

const REPO = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'mobyts-cli-preflight-'));
after(() => rmSync(dir, { recursive: true, force: true }));

void test('mobyts build -f iso-efi -f qcow2-bios -f kernel+squashfs without the tools on PATH', () => {
  const spec = join(dir, 'os.yml');
  writeFileSync(
    spec,
    'kernel:\n  image: 127.0.0.1:1/nowhere/kernel:1\n  cmdline: "console=ttyS0"\ninit:\n  - 127.0.0.1:1/nowhere/init:1\n',
  );
  const out = join(dir, 'out');
  mkdirSync(out);
  const r = spawnSync(
    process.execPath,
    [
      join(REPO, 'bin/mobyts.js'),
      'build',
      '--cache',
      join(dir, 'cache'),
      '-f',
      'iso-efi',
      '-f',
      'qcow2-bios',
      '-f',
      'kernel+squashfs',
      '--dir',
      out,
      spec,
    ],
    {
      encoding: 'utf8',
      env: { PATH: '/nonexistent', HOME: dir },
    },
  );
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines[0], 'Error: Cannot build the chosen formats: 10 required host tools are missing:');
  assert.deepEqual(
    lines.slice(1, -1).map((l) => /^ {2}- (\S+) \(/.exec(l)?.[1]),
    ['xorriso', 'grub-mkimage', 'tar', 'mkfs.vfat', 'mmd', 'mcopy', 'xz', 'syslinux', 'qemu-img', 'mksquashfs'],
  );
  assert.equal(
    lines.at(-1),
    'hint: on Debian/Ubuntu: apt-get install xorriso grub-common tar dosfstools mtools xz-utils syslinux qemu-utils squashfs-tools',
  );
  assert.deepEqual(readdirSync(out), []);
});
