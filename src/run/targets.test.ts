import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBootTarget, targetForFile } from './targets.ts';

const dir = mkdtempSync(join(tmpdir(), 'mobyts-targets-'));
after(() => rmSync(dir, { recursive: true, force: true }));

void test('files are booted by suffix', () => {
  assert.deepEqual(targetForFile('a-efi.iso'), { format: 'file', kind: 'cdrom', firmware: 'efi', image: 'a-efi.iso' });
  assert.deepEqual(targetForFile('a.iso'), { format: 'file', kind: 'cdrom', firmware: 'bios', image: 'a.iso' });
  assert.deepEqual(targetForFile('a.efi'), { format: 'file', kind: 'efi-kernel', firmware: 'efi', kernel: 'a.efi' });
  assert.deepEqual(targetForFile('a-efi.qcow2'), {
    format: 'file',
    kind: 'disk',
    firmware: 'efi',
    imageFormat: 'qcow2',
    image: 'a-efi.qcow2',
  });
  assert.equal(targetForFile('a.txt'), undefined);
});

void test('a prefix finds kernel+initrd first and reads the cmdline file', async () => {
  const p = join(dir, 'hello');
  for (const f of ['-kernel', '-initrd.img']) writeFileSync(p + f, 'x');
  await assert.rejects(
    findBootTarget(p),
    /no build output found \(looked for .*hello-kernel, .*hello-initrd.img, .*hello-cmdline/,
  );
  writeFileSync(`${p}-efi.iso`, 'x');
  assert.equal((await findBootTarget(p)).format, 'iso-efi');
  writeFileSync(`${p}-cmdline`, 'console=ttyS0 quiet\n');
  assert.deepEqual(await findBootTarget(p), {
    format: 'kernel+initrd',
    kind: 'kernel',
    firmware: 'bios',
    kernel: `${p}-kernel`,
    initrd: `${p}-initrd.img`,
    cmdline: 'console=ttyS0 quiet',
  });
  assert.deepEqual(await findBootTarget(p, 'iso-efi'), {
    format: 'iso-efi',
    kind: 'cdrom',
    firmware: 'efi',
    image: `${p}-efi.iso`,
  });
  await assert.rejects(findBootTarget(p, 'tar'), /Cannot boot format "tar": not bootable/);
});

void test('a kernel+squashfs prefix boots its kernel with the image as root disk, root= added, and the loader initrd when built', async () => {
  const p = join(dir, 'sq');
  for (const f of ['-kernel', '-squashfs.img']) writeFileSync(p + f, 'x');
  writeFileSync(`${p}-cmdline`, 'console=ttyS0\n');
  assert.deepEqual(await findBootTarget(p), {
    format: 'kernel+squashfs',
    kind: 'kernel',
    firmware: 'bios',
    rootAs: 'virtio-disk',
    kernel: `${p}-kernel`,
    root: `${p}-squashfs.img`,
    cmdline: 'console=ttyS0 root=/dev/vda',
  });
  // with its loader initrd the prefix also has kernel+initrd's three files: the squashfs image decides
  writeFileSync(`${p}-initrd.img`, 'x');
  const loader = await findBootTarget(p);
  assert.equal(loader.format, 'kernel+squashfs');
  assert.equal(loader.initrd, `${p}-initrd.img`);
  assert.equal(loader.root, `${p}-squashfs.img`);
  writeFileSync(`${p}-cmdline`, 'console=ttyS0 root=/dev/vdb');
  assert.equal((await findBootTarget(p, 'kernel+squashfs')).cmdline, 'console=ttyS0 root=/dev/vdb');
});

void test('kernel+iso wins over iso-bios for the same N.iso when its kernel and cmdline exist; its image is a CD', async () => {
  const p = join(dir, 'ki');
  writeFileSync(`${p}.iso`, 'x');
  assert.equal((await findBootTarget(p)).format, 'iso-bios');
  for (const f of ['-kernel', '-cmdline']) writeFileSync(p + f, '');
  assert.deepEqual(await findBootTarget(p), {
    format: 'kernel+iso',
    kind: 'kernel',
    firmware: 'bios',
    rootAs: 'cdrom',
    kernel: `${p}-kernel`,
    root: `${p}.iso`,
    cmdline: 'root=/dev/sr0',
  });
});
