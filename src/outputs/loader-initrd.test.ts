import { recordingReporter } from '../util/reporter.ts';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { entryStreamOf } from '../tar/streams.ts';
import { writeTar } from '../tar/write.ts';
import type { TarEntry } from '../tar/entry.ts';
import { isElfFor, isStaticElf, loaderInit, writeLoaderInitrd } from './loader-initrd.ts';

const dir = mkdtempSync(join(tmpdir(), 'mobyts-loader-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, data: Buffer, mode = 0o644): TarEntry {
  return {
    header: { name, type: 'file', mode, uid: 0, gid: 0, mtime: 1, size: data.length },
    body: Readable.from([data]),
  };
}

async function rootfsTar(name: string, entries: TarEntry[]): Promise<string> {
  const path = join(dir, name);
  await writeTar(entryStreamOf(entries), createWriteStream(path));
  return path;
}

function listing(initrd: string): string[] {
  return execFileSync('sh', ['-c', 'zcat "$1" | cpio -tv --quiet', 'sh', initrd], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.replace(/\s+/g, ' '));
}

void test('a static busybox is recognised by its program headers; a dynamic ls is not', () => {
  assert.equal(isStaticElf(readFileSync('/bin/busybox')), true);
  assert.equal(isStaticElf(readFileSync('/bin/ls')), false);
  assert.equal(isStaticElf(Buffer.from('#!/bin/sh\n')), false);
});

void test('the loader holds busybox, the modules (unpacked) and /init, and the same inputs give the same bytes', async () => {
  const tar = await rootfsTar('rootfs.tar', [
    file('bin/busybox', readFileSync('/bin/busybox'), 0o755),
    file('lib/modules/6.1/kernel/fs/squashfs/squashfs.ko.gz', gzipSync('SQUASHFS-MODULE')),
    file('lib/modules/6.1/kernel/drivers/virtio/virtio.ko', Buffer.from('VIRTIO-MODULE')),
    file('etc/hostname', Buffer.from('x\n')),
  ]);
  const o = {
    rootfsTar: tar,
    version: '6.1',
    modules: ['kernel/drivers/virtio/virtio.ko', 'kernel/fs/squashfs/squashfs.ko.gz'],
    devices: ['/dev/vda'],
    arch: 'amd64',
    mtime: 1492533000,
    workDir: dir,
    signal: new AbortController().signal,
    reporter: recordingReporter(),
  };
  await writeLoaderInitrd({ ...o, out: join(dir, 'a.img') });
  await writeLoaderInitrd({ ...o, out: join(dir, 'b.img') });
  assert.ok(readFileSync(join(dir, 'a.img')).equals(readFileSync(join(dir, 'b.img'))));
  const names = listing(join(dir, 'a.img')).map((l) => `${l.split(' ')[0]} ${l.split(' ').at(-1)}`);
  assert.deepEqual(
    names,
    [
      '-rwxr-xr-x bin/busybox',
      'drwxr-xr-x bin',
      'crw------- dev/console',
      'drwxr-xr-x dev',
      '-rwxr-xr-x init',
      'drwxr-xr-x lib',
      'drwxr-xr-x lib/modules',
      'drwxr-xr-x lib/modules/6.1',
      'drwxr-xr-x lib/modules/6.1/kernel',
      'drwxr-xr-x lib/modules/6.1/kernel/drivers',
      'drwxr-xr-x lib/modules/6.1/kernel/drivers/virtio',
      '-rw-r--r-- lib/modules/6.1/kernel/drivers/virtio/virtio.ko',
      'drwxr-xr-x lib/modules/6.1/kernel/fs',
      'drwxr-xr-x lib/modules/6.1/kernel/fs/squashfs',
      '-rw-r--r-- lib/modules/6.1/kernel/fs/squashfs/squashfs.ko',
      'drwxr-xr-x newroot',
      'drwxr-xr-x proc',
      'drwxr-xr-x sys',
    ].sort((a, b) => (a.split(' ')[1]! < b.split(' ')[1]! ? -1 : 1)),
  );
  const ko = execFileSync(
    'sh',
    [
      '-c',
      'zcat "$1" | cpio -i --quiet --to-stdout lib/modules/6.1/kernel/fs/squashfs/squashfs.ko',
      'sh',
      join(dir, 'a.img'),
    ],
    { encoding: 'utf8' },
  );
  assert.equal(ko, 'SQUASHFS-MODULE');
});

void test("an arm64 loader takes no amd64 busybox: neither the init images' nor, as a fallback, this machine's", async () => {
  const busybox = readFileSync('/bin/busybox');
  assert.equal(isElfFor(busybox, 'amd64'), true);
  assert.equal(isElfFor(busybox, 'arm64'), false);
  const tar = await rootfsTar('rootfs-amd64-busybox.tar', [file('bin/busybox', busybox, 0o755)]);
  const o = {
    rootfsTar: tar,
    version: '6.1',
    modules: [],
    devices: ['/dev/vda'],
    arch: 'arm64',
    mtime: 1492533000,
    workDir: dir,
    signal: new AbortController().signal,
    reporter: recordingReporter(),
  };
  await assert.rejects(writeLoaderInitrd({ ...o, out: join(dir, 'arm.img') }), {
    message:
      "Cannot write the loader initrd: the init images have no static /bin/busybox for arm64 and this machine's is not for arm64",
  });
});

void test('/init loads the modules in order, then mounts root= or the first device that appears and switch_roots', () => {
  const init = loaderInit({ version: '6.1', modules: ['a.ko', 'b/c.ko.xz'], devices: ['/dev/sr0', '/dev/vda'] });
  assert.match(init, /^#!\/bin\/busybox sh\n/);
  assert.match(init, /for m in \/lib\/modules\/6\.1\/a\.ko \/lib\/modules\/6\.1\/b\/c\.ko; do/);
  assert.match(init, /for d in \$\{root:-\/dev\/sr0 \/dev\/vda\}; do/);
  assert.match(init, /exec \$b switch_root \/newroot \/init\n$/);
  const check = execFileSync('sh', ['-n', '-c', init]);
  assert.equal(check.length, 0);
});
