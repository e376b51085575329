import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultFirmware, escapeOpt, qemuArgv, qemuBinary, type QemuMachine } from './qemu-argv.ts';

const base: QemuMachine = {
  arch: 'amd64',
  kind: 'kernel',
  firmware: 'bios',
  kernel: 'k',
  initrd: 'i',
  cmdline: 'console=ttyS0',
  mem: 1024,
  cpus: 1,
  accel: 'tcg',
  disks: [],
  snapshot: true,
  ovmf: '/usr/share/ovmf/OVMF.fd',
  interactive: false,
};

void test('a kernel+initrd boot uses TCG, the serial console on stdio and -no-reboot', () => {
  assert.deepEqual(qemuArgv(base), [
    '-accel',
    'tcg',
    '-nodefaults',
    '-display',
    'none',
    '-no-reboot',
    '-serial',
    'stdio',
    '-m',
    '1024',
    '-smp',
    '1',
    '-kernel',
    'k',
    '-initrd',
    'i',
    '-append',
    'console=ttyS0',
  ]);
});

void test('EFI disks get OVMF, a snapshot drive and virtio extra disks; commas in paths are doubled', () => {
  const argv = qemuArgv({
    ...base,
    kind: 'disk',
    firmware: 'efi',
    image: '/x/a,b-efi.img',
    imageFormat: 'raw',
    accel: 'kvm',
    interactive: true,
    disks: [{ file: 'd.qcow2', format: 'qcow2' }],
  });
  assert.deepEqual(argv, [
    '-accel',
    'kvm',
    '-cpu',
    'host',
    '-nodefaults',
    '-display',
    'none',
    '-no-reboot',
    '-serial',
    'mon:stdio',
    '-m',
    '1024',
    '-smp',
    '1',
    '-bios',
    '/usr/share/ovmf/OVMF.fd',
    '-drive',
    'file=/x/a,,b-efi.img,format=raw,if=ide,index=0,snapshot=on',
    '-drive',
    'file=d.qcow2,format=qcow2,if=virtio',
  ]);
});

void test('an ISO boots as a read-only CD; a UKI boots as an EFI kernel', () => {
  assert.deepEqual(qemuArgv({ ...base, kind: 'cdrom', image: 'a.iso' }).slice(-2), [
    '-drive',
    'file=a.iso,media=cdrom,readonly=on,if=ide,index=2',
  ]);
  assert.deepEqual(
    qemuArgv({ ...base, kind: 'efi-kernel', firmware: 'efi', kernel: 'a.efi', cmdline: undefined }).slice(-4),
    ['-bios', '/usr/share/ovmf/OVMF.fd', '-kernel', 'a.efi'],
  );
});

void test('arm64 boots the virt machine with a Cortex-A57 under TCG; the CD is on virtio-scsi, the disk on virtio', () => {
  const arm = { ...base, arch: 'arm64', cmdline: 'console=ttyAMA0' };
  assert.deepEqual(qemuArgv(arm), [
    '-accel',
    'tcg',
    '-machine',
    'virt',
    '-cpu',
    'cortex-a57',
    '-nodefaults',
    '-display',
    'none',
    '-no-reboot',
    '-serial',
    'stdio',
    '-m',
    '1024',
    '-smp',
    '1',
    '-kernel',
    'k',
    '-initrd',
    'i',
    '-append',
    'console=ttyAMA0',
  ]);
  assert.deepEqual(qemuArgv({ ...arm, accel: 'kvm' }).slice(0, 6), [
    '-accel',
    'kvm',
    '-machine',
    'virt',
    '-cpu',
    'host',
  ]);
  const efi = '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd';
  assert.deepEqual(qemuArgv({ ...arm, kind: 'cdrom', firmware: 'efi', ovmf: efi, image: 'a.iso' }).slice(-8), [
    '-bios',
    efi,
    '-device',
    'virtio-scsi-pci,id=scsi0',
    '-drive',
    'file=a.iso,media=cdrom,readonly=on,if=none,id=cd0',
    '-device',
    'scsi-cd,drive=cd0,bus=scsi0.0',
  ]);
  assert.deepEqual(qemuArgv({ ...arm, kind: 'disk', firmware: 'efi', ovmf: efi, image: 'a-efi.img' }).slice(-2), [
    '-drive',
    'file=a-efi.img,format=raw,if=virtio,snapshot=on',
  ]);
  assert.equal(defaultFirmware('arm64'), efi);
  assert.throws(() => qemuArgv({ ...base, arch: 'mips' }), /no qemu machine for arch mips/);
});

void test('a missing boot file is a caller bug', () => {
  assert.throws(() => qemuArgv({ ...base, kind: 'cdrom' }), /image is required/);
});

void test('binary names follow the Go architecture', () => {
  assert.equal(qemuBinary('amd64'), 'qemu-system-x86_64');
  assert.equal(qemuBinary('arm64'), 'qemu-system-aarch64');
  assert.equal(escapeOpt('a,,b'), 'a,,,,b');
});

void test("a root image goes read-only on the first virtio disk, or on the arch's CD (IDE; arm64: virtio-scsi), before the extra disks", () => {
  const disk = qemuArgv({ ...base, root: '/o/a,b-squashfs.img', rootAs: 'virtio-disk', disks: [{ file: 'd.img' }] });
  assert.deepEqual(disk.slice(disk.indexOf('-kernel')), [
    '-kernel',
    'k',
    '-initrd',
    'i',
    '-append',
    'console=ttyS0',
    '-drive',
    'file=/o/a,,b-squashfs.img,format=raw,if=virtio,readonly=on',
    '-drive',
    'file=d.img,format=raw,if=virtio',
  ]);
  const cd = qemuArgv({ ...base, root: 'o.iso', rootAs: 'cdrom' });
  assert.deepEqual(cd.slice(-2), ['-drive', 'file=o.iso,media=cdrom,readonly=on,if=ide,index=2']);
  const armCd = qemuArgv({ ...base, arch: 'arm64', root: 'o.iso', rootAs: 'cdrom' });
  assert.deepEqual(
    armCd.slice(armCd.indexOf('-append') + 2),
    [
      '-device',
      'virtio-scsi-pci,id=scsi0',
      '-drive',
      'file=o.iso,media=cdrom,readonly=on,if=none,id=cd0',
      '-device',
      'scsi-cd,drive=cd0,bus=scsi0.0',
    ],
    "arm64 virt has no IDE: kernel+iso's root CD is on virtio-scsi",
  );
});
