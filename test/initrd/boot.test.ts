/**
 * The Linux kernel itself unpacks our initrd: a real Debian 6.1 kernel boots (QEMU, TCG) a zstd initrd
 * whose /init checks that the hardlink group came out as one inode with nlink 3 and the data (data is on
 * the first member, see src/initrd/cpio.ts); and a segmented gzip initrd (src/initrd/segments.ts: one
 * member per section, one trailer) whose two hardlink groups sit at the same position of two segments, so
 * they would merge into one inode if segments shared inode numbers. Slow (two TCG boots); skipped without
 * qemu or the kernel.
 */
import { silentReporter } from '../../src/util/reporter.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { writeInitrd } from '../../src/initrd/initrd.ts';
import { writeSegmentedInitrd, type InitrdSection } from '../../src/initrd/segments.ts';
import { entryStreamOf } from '../../src/tar/streams.ts';
import type { TarEntry, TarHeader } from '../../src/tar/entry.ts';
import { testKernelOrSkip } from '../helpers/kernel.ts';

const INIT = `#!/bin/busybox sh
B=/bin/busybox
a=$($B stat -c %i /usr/bin/git); b=$($B stat -c %i /usr/bin/git-receive-pack); c=$($B stat -c %i /usr/bin/git-upload-archive)
n=$($B stat -c %h /usr/bin/git-upload-archive); d=$($B cat /usr/bin/git-upload-archive)
s=$($B readlink /bin/sh)
same=no; [ "$a" = "$b" ] && [ "$b" = "$c" ] && same=yes
echo "MOBYTS-RESULT same-inode=$same nlink=$n content=$d sh=$s"
$B poweroff -f
`;

function entry(h: Partial<TarHeader> & Pick<TarHeader, 'name' | 'type'>, data?: Buffer | string): TarEntry {
  const body = data === undefined ? undefined : Buffer.from(data);
  const header: TarHeader = { mode: 0o755, uid: 0, gid: 0, mtime: 1492533000, size: body?.length ?? 0, ...h };
  return body === undefined ? { header } : { header, body: Readable.from([body]) };
}

function tree(): TarEntry[] {
  return [
    entry({ name: 'bin', type: 'directory' }),
    entry({ name: 'bin/busybox', type: 'file' }, readFileSync('/bin/busybox')),
    entry({ name: 'bin/sh', type: 'symlink', linkname: 'busybox', mode: 0o777 }),
    entry({ name: 'dev', type: 'directory' }),
    entry({ name: 'dev/console', type: 'character-device', mode: 0o600, devmajor: 5, devminor: 1 }),
    entry({ name: 'init', type: 'file' }, INIT),
    entry({ name: 'usr', type: 'directory' }),
    entry({ name: 'usr/bin', type: 'directory' }),
    entry({ name: 'usr/bin/git', type: 'file' }, 'GIT!'),
    entry({ name: 'usr/bin/git-receive-pack', type: 'link', linkname: 'usr/bin/git' }),
    entry({ name: 'usr/bin/git-upload-archive', type: 'link', linkname: 'usr/bin/git' }),
  ];
}

function bootOutput(kernel: string, initrd: string, t: { after(fn: () => void): void }): Promise<string> {
  const args = [
    '-accel',
    'tcg',
    '-m',
    '256',
    '-nographic',
    '-no-reboot',
    '-kernel',
    kernel,
    '-initrd',
    initrd,
    '-append',
    'console=ttyS0 panic=-1 loglevel=3',
  ];
  const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (qemu.exitCode === null && qemu.pid !== undefined) process.kill(qemu.pid, 'SIGKILL');
  });
  let out = '';
  qemu.stdout.on('data', (c: Buffer) => (out += c.toString('latin1')));
  qemu.stderr.on('data', (c: Buffer) => (out += c.toString('latin1')));
  return new Promise((resolve) => {
    const timer = setTimeout(() => qemu.kill('SIGKILL'), 300_000);
    qemu.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

void test('a real kernel unpacks our zstd initrd with real hardlinks', { timeout: 360_000 }, async (t) => {
  if (spawnSync('qemu-system-x86_64', ['--version']).status !== 0) {
    t.skip('qemu-system-x86_64 is not installed');
    return;
  }
  const k = testKernelOrSkip();
  if ('skip' in k) {
    t.skip(k.skip);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'mobyts-boot-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const initrd = join(dir, 'initrd.img');
  await writeInitrd(entryStreamOf(tree()), {
    compress: 'zstd',
    out: createWriteStream(initrd),
    reporter: silentReporter,
  });
  const out = await bootOutput(k.bzImage, initrd, t);
  const line = /MOBYTS-RESULT .*/.exec(out)?.[0]?.trim();
  assert.equal(line, 'MOBYTS-RESULT same-inode=yes nlink=3 content=GIT! sh=busybox', out.slice(-2000));
});

const SEGMENTED_INIT = `#!/bin/busybox sh
B=/bin/busybox
g=$($B stat -c %i /usr/bin/git); h=$($B stat -c %i /usr/bin/git-receive-pack); n=$($B stat -c %h /usr/bin/git)
a=$($B stat -c %i /opt/x/a); b=$($B stat -c %i /opt/x/b); m=$($B stat -c %h /opt/x/b)
same=no; [ "$g" = "$h" ] && [ "$a" = "$b" ] && [ "$g" != "$a" ] && same=yes
echo "MOBYTS-RESULT groups=$same nlink=$n,$m content=$($B cat /usr/bin/git-receive-pack),$($B cat /opt/x/b) last=$($B cat /etc/last)"
$B poweroff -f
`;

function section(id: string, entries: TarEntry[]): InitrdSection {
  return { id, key: id, entries: () => entryStreamOf(entries), replay: () => {}, record: () => ({ emitted: [] }) };
}

async function* segmentedTree(): AsyncGenerator<InitrdSection> {
  await Promise.resolve();
  const base = tree().slice(0, 5);
  yield section('base', [...base, entry({ name: 'init', type: 'file' }, SEGMENTED_INIT)]);
  yield section('git', tree().slice(6));
  yield section('opt', [
    entry({ name: 'opt', type: 'directory' }),
    entry({ name: 'opt/x', type: 'directory' }),
    entry({ name: 'opt/x/a', type: 'file' }, 'OPT!'),
    entry({ name: 'opt/x/b', type: 'link', linkname: 'opt/x/a' }),
  ]);
  yield section('empty', []);
  yield section('last', [
    entry({ name: 'etc', type: 'directory' }),
    entry({ name: 'etc/last', type: 'file', mode: 0o644 }, 'yes'),
  ]);
}

void test(
  'a real kernel unpacks a segmented gzip initrd: sections as members, hardlink groups kept apart',
  { timeout: 360_000 },
  async (t) => {
    if (spawnSync('qemu-system-x86_64', ['--version']).status !== 0) {
      t.skip('qemu-system-x86_64 is not installed');
      return;
    }
    const k = testKernelOrSkip();
    if ('skip' in k) {
      t.skip(k.skip);
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'mobyts-boot-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const initrd = join(dir, 'initrd.img');
    const stats = await writeSegmentedInitrd(segmentedTree(), {
      compress: 'gzip',
      out: createWriteStream(initrd),
      workDir: dir,
      reporter: silentReporter,
    });
    assert.deepEqual(stats, { reused: 0, compressed: 5 });
    const listing = spawnSync('sh', ['-c', `gzip -dc '${initrd}' | cpio -it --quiet`])
      .stdout.toString()
      .trim()
      .split('\n');
    assert.deepEqual(listing.slice(-2), ['etc', 'etc/last'], 'cpio reads every member as one archive');
    const out = await bootOutput(k.bzImage, initrd, t);
    const line = /MOBYTS-RESULT .*/.exec(out)?.[0]?.trim();
    assert.equal(line, 'MOBYTS-RESULT groups=yes nlink=3,2 content=GIT!,OPT! last=yes', out.slice(-2000));
  },
);
