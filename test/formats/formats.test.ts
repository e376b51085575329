/**
 * Issue 6: every disk/ISO/cloud/rootfs-image format, built from real inputs (Debian kernel, busybox initrd,
 * a filesystem tar) as the unprivileged uid 65534 without Docker, mounts or loop devices — twice, compared
 * byte for byte — plus what a user would check in each image. Boots are in boot-formats.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { getFormat } from '../../src/outputs/index.ts';
import {
  ALL_FORMATS,
  SIZE,
  buildAsNobody,
  listFiles,
  prepareWorkspace,
  type ChildRun,
  type Workspace,
} from './fixtures.ts';

let ws: Workspace;
let first: ChildRun;
let second: ChildRun;

before(async () => {
  ws = await prepareWorkspace('mobyts-formats-');
  first = buildAsNobody(ws, 'a', ALL_FORMATS);
  second = buildAsNobody(ws, 'b', ALL_FORMATS);
});
after(() => rmSync(ws.dir, { recursive: true, force: true }));

const dirOf = (f: string) => f.replace('+', '-');
const out = (format: string, file: string) => join(first.outDir, dirOf(format), file);

function sh(script: string, ...args: string[]): string {
  return execFileSync('sh', ['-c', script, 'sh', ...args], { encoding: 'utf8' });
}

function extract(iso: string, path: string): string {
  const dest = join(ws.dir, `extract-${Math.random().toString(36).slice(2)}`);
  sh('xorriso -osirrox on -indev "$1" -extract "$2" "$3" 2>/dev/null', iso, path, dest);
  return readFileSync(dest, 'utf8');
}

void test('every format builds as uid 65534 and writes exactly its LinuxKit output names', () => {
  assert.equal(first.status, 0, first.stderr);
  assert.equal(second.status, 0, second.stderr);
  const expected = ALL_FORMATS.flatMap((f) =>
    getFormat(f)
      .outputs('hello')
      .map((n) => `${dirOf(f)}/${n}`),
  ).sort();
  assert.deepEqual(listFiles(first.outDir), expected);
  const builder = process.getuid?.() === 0 ? 65534 : process.getuid?.();
  assert.equal(sh('find "$1" -type f ! -uid "$2" | wc -l', first.outDir, String(builder)).trim(), '0');
});

void test('two builds of the same inputs are byte-identical, for every output file', () => {
  const files = listFiles(first.outDir);
  assert.deepEqual(listFiles(second.outDir), files);
  const differing = files.filter(
    (f) => !readFileSync(join(first.outDir, f)).equals(readFileSync(join(second.outDir, f))),
  );
  assert.deepEqual(differing, []);
});

void test("iso-bios: the whole filesystem with the tar's owners and modes, LinuxKit's isolinux menu, initrd fallback for this kernel", () => {
  const iso = out('iso-bios', 'hello.iso');
  const ls = sh('xorriso -indev "$1" -lsl /home/user /bin/su /boot 2>/dev/null', iso);
  assert.match(ls, /-rw-r-----\s+1 1000\s+100\s+14 Apr 18\s+2017 'notes\.txt'/);
  assert.match(ls, /-rwsr-xr-x\s+1 0\s+0\s+7 Apr 18\s+2017 '\/bin\/su'/);
  assert.match(ls, /'initrd\.img'/);
  assert.match(ls, /'kernel'/);
  const cfg = extract(iso, '/isolinux/isolinux.cfg');
  assert.equal(
    cfg,
    'DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL /boot/kernel\n  INITRD /boot/initrd.img\n  APPEND console=ttyS0 quiet panic=-1 root=/dev/sr0\n',
  );
  assert.match(sh('xorriso -indev "$1" -toc 2>&1', iso), /Volume id\s+: 'LinuxKit'/);
  // isohybrid: the MBR signature makes it bootable from a USB disk too.
  assert.equal(readFileSync(iso).readUInt16LE(510), 0xaa55);
});

void test('raw-bios / raw-efi: partition tables our code wrote are what sfdisk reads', () => {
  const bios = JSON.parse(sh('sfdisk -J "$1"', out('raw-bios', 'hello-bios.img'))) as {
    partitiontable: { label: string; partitions: Array<Record<string, unknown>> };
  };
  assert.equal(bios.partitiontable.label, 'dos');
  assert.deepEqual(
    bios.partitiontable.partitions.map((p) => [p.start, p.type, p.bootable]),
    [[2048, 'c', true]],
  );
  const efi = JSON.parse(sh('sfdisk -J "$1"', out('raw-efi', 'hello-efi.img'))) as {
    partitiontable: { label: string; partitions: Array<Record<string, unknown>> };
  };
  assert.equal(efi.partitiontable.label, 'gpt');
  assert.deepEqual(
    efi.partitiontable.partitions.map((p) => [p.start, p.type, p.name]),
    [[2048, 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', 'EFI System']],
  );
  assert.match(sh('sfdisk -V "$1"', out('raw-efi', 'hello-efi.img')), /No errors detected/);
  const fat = `${out('raw-bios', 'hello-bios.img')}@@1M`;
  assert.equal(
    sh('MTOOLS_SKIP_CHECK=1 mtype -i "$1" ::/syslinux.cfg', fat),
    'DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL /kernel\n  INITRD /initrd.img\n  APPEND console=ttyS0 quiet panic=-1\n',
  );
  assert.deepEqual(sh('MTOOLS_SKIP_CHECK=1 mdir -a -b -i "$1" ::/', fat).trim().split('\n').sort(), [
    '::/initrd.img',
    '::/kernel',
    '::/ldlinux.c32',
    '::/ldlinux.sys',
    '::/syslinux.cfg',
  ]);
});

void test('converted disks have the --size and the format qemu-img expects', () => {
  const info = (f: string, file: string) =>
    JSON.parse(sh('qemu-img info --output=json "$1"', out(f, file))) as {
      format: string;
      'virtual-size': number;
      'format-specific'?: { data?: { 'create-type'?: string } };
    };
  assert.deepEqual(
    [info('qcow2-bios', 'hello.qcow2').format, info('qcow2-bios', 'hello.qcow2')['virtual-size']],
    ['qcow2', SIZE],
  );
  assert.deepEqual(
    [info('qcow2-efi', 'hello-efi.qcow2').format, info('qcow2-efi', 'hello-efi.qcow2')['virtual-size']],
    ['qcow2', SIZE],
  );
  // A fixed VHD is a raw disk plus a footer, so qemu-img only recognises the dynamic one by probing.
  assert.equal(info('dynamic-vhd', 'hello.vhd').format, 'vpc');
  for (const f of ['vhd', 'dynamic-vhd']) {
    const vhd = readFileSync(out(f, 'hello.vhd'));
    const footer = vhd.subarray(vhd.length - 512);
    assert.equal(footer.toString('latin1', 0, 8), 'conectix');
    assert.equal(footer.readUInt32BE(24), 1492533000 - 946684800);
    assert.equal(footer.readUInt32BE(60), f === 'vhd' ? 2 : 3);
  }
  const vmdk = info('vmdk', 'hello.vmdk');
  assert.deepEqual(
    [vmdk.format, vmdk['virtual-size'], vmdk['format-specific']?.data?.['create-type']],
    ['vmdk', SIZE, 'streamOptimized'],
  );
  // The descriptor names the published file, not the temporary one it was converted into.
  assert.match(readFileSync(out('vmdk', 'hello.vmdk')).toString('latin1', 512, 1500), /RW 131072 SPARSE "hello\.vmdk"/);
  assert.equal(readFileSync(out('aws', 'hello.raw')).length, SIZE);
  assert.match(
    sh('tar -tvzf "$1"', out('gcp', 'hello.img.tar.gz')),
    new RegExp(`^-rw-r--r-- 0/0\\s+${SIZE} 2017-04-18 16:30 disk\\.raw\\n$`),
  );
});

void test('kernel+squashfs / kernel+erofs / kernel+iso: kernel and cmdline as given, filesystem without boot/', () => {
  for (const f of ['kernel+squashfs', 'kernel+erofs', 'kernel+iso']) {
    assert.ok(readFileSync(out(f, 'hello-kernel')).equals(readFileSync(ws.kernel)));
    assert.equal(readFileSync(out(f, 'hello-cmdline'), 'utf8'), 'console=ttyS0 quiet panic=-1');
  }
  const sq = sh('unsquashfs -lln "$1"', out('kernel+squashfs', 'hello-squashfs.img'));
  assert.match(sq, /-rw-r----- 1000\/100 +14 2017-04-18 16:30 squashfs-root\/home\/user\/notes\.txt/);
  assert.match(sq, /drwx------ 1000\/1000 .* squashfs-root\/home\/user\n/);
  assert.match(sq, /crw------- 0\/0 +5, +1 .* squashfs-root\/dev\/console/);
  assert.match(sq, /-rwsr-xr-x 0\/0 +7 .* squashfs-root\/bin\/su\n/);
  assert.match(sq, /-rw------- 1000\/1000 +2 .* squashfs-root\/etc\/with space\.conf\n/);
  assert.doesNotMatch(sq, /boot/);
  assert.doesNotMatch(sq, / 65534\//);
  const erofs = sh('dump.erofs --path=/bin/su "$1"', out('kernel+erofs', 'hello-erofs.img'));
  // mkfs.erofs 1.5 (Debian 12) maps every owner to root and keeps only the permission bits (docs/formats.md).
  assert.match(erofs, /Uid: 0 {3}Gid: 0 {2}Access: 0755\/rwxr-xr-x/);
  assert.match(
    sh('dump.erofs --path=/home/user/notes.txt "$1"', out('kernel+erofs', 'hello-erofs.img')),
    /Size: 14 .*\n[^]*Uid: 0 {3}Gid: 0 {2}Access: 0640/,
  );
  const iso = sh('xorriso -indev "$1" -lsl / /home/user 2>/dev/null', out('kernel+iso', 'hello.iso'));
  assert.doesNotMatch(iso, /'boot'/);
  assert.match(iso, /-rw-r-----\s+1 1000\s+100\s+14 Apr 18\s+2017 'notes\.txt'/);
});

void test('uki: systemd-stub with .linux, .initrd, .cmdline and .osrel sections, PE timestamp zeroed', () => {
  const efi = out('uki', 'hello.efi');
  const sections = sh('objdump -h "$1"', efi);
  for (const s of ['.osrel', '.cmdline', '.linux', '.initrd']) assert.match(sections, new RegExp(`\\${s} `));
  const dump = sh('objcopy -O binary --only-section=.cmdline "$1" "$2" && cat "$2"', efi, join(ws.dir, 'cmdline.bin'));
  assert.equal(dump, 'console=ttyS0 quiet panic=-1');
  const pe = readFileSync(efi);
  const off = pe.readUInt32LE(0x3c);
  assert.equal(pe.readUInt32LE(off + 8), 0);
});

void test('missing tools: one error listing every one with install hints, exit 1, no output files', () => {
  const r = buildAsNobody(ws, 'no-tools', ALL_FORMATS, { path: '/nonexistent' });
  assert.equal(r.status, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines[0], 'Cannot build the chosen formats: 13 required host tools are missing:');
  const named = lines.slice(1, -1).map((l) => /^ {2}- (\S+) \(/.exec(l)?.[1]);
  assert.deepEqual(named, [
    'xorriso',
    'xz',
    'grub-mkimage',
    'tar',
    'mkfs.vfat',
    'mmd',
    'mcopy',
    'syslinux',
    'objcopy',
    'qemu-img',
    'gzip',
    'mksquashfs',
    'mkfs.erofs',
  ]);
  assert.ok(
    lines.slice(1, -1).every((l) => /; install with Debian\/Ubuntu: apt-get install \S+; Fedora: dnf install /.test(l)),
    r.stderr,
  );
  assert.equal(
    lines.at(-1),
    'hint: on Debian/Ubuntu: apt-get install xorriso xz-utils grub-common tar dosfstools mtools syslinux binutils qemu-utils gzip squashfs-tools erofs-utils',
  );
  assert.deepEqual(listFiles(r.outDir), []);
});

void test("a kernel with CD + ISO 9660 built in (embedded IKCONFIG) gets LinuxKit's ISO: no initrd, root=/dev/sr0", () => {
  const config = [
    'CONFIG_BLK_DEV_INITRD=y',
    'CONFIG_ATA=y',
    'CONFIG_ATA_PIIX=y',
    'CONFIG_SCSI=y',
    'CONFIG_BLK_DEV_SR=y',
    'CONFIG_ISO9660_FS=y',
    '',
  ].join('\n');
  const kernel = join(ws.dir, 'ikconfig-kernel');
  writeFileSync(
    kernel,
    Buffer.concat([readFileSync(ws.kernel), Buffer.from('IKCFG_ST'), gzipSync(config), Buffer.from('IKCFG_ED')]),
  );
  const r = buildAsNobody(ws, 'ikconfig', ['iso-bios'], { kernel });
  assert.equal(r.status, 0, r.stderr);
  const iso = join(r.outDir, 'iso-bios', 'hello.iso');
  assert.doesNotMatch(sh('xorriso -indev "$1" -lsl /boot 2>/dev/null', iso), /initrd/);
  const cfg = extract(iso, '/isolinux/isolinux.cfg');
  assert.equal(
    cfg,
    'DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL /boot/kernel\n  APPEND console=ttyS0 quiet panic=-1 root=/dev/sr0\n',
  );
});
