/**
 * Issue 6: every bootable format, built as uid 65534 from the Debian kernel and a busybox initrd, boots under
 * QEMU TCG — SeaBIOS for BIOS formats, OVMF for EFI ones, converted disks through qemu's own drivers — and the
 * initrd's marker appears on the serial console. One boot per format, sequential (2 shared cores).
 * kernel+squashfs/erofs/iso are not booted here (this harness has no kernel config, so no loader initrd is
 * written): build-formats.test.ts boots them through the CLI with their loader; rootfs-images.test.ts mounts
 * what they write; formats.test.ts checks their contents.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bootImage, type BootOptions } from '../../src/run/qemu.ts';
import { MARKER, buildAsNobody, prepareWorkspace, type ChildRun, type Workspace } from './fixtures.ts';

const BOOTS: Record<string, Omit<BootOptions, 'until'>> = {
  'iso-bios': { kind: 'cdrom', image: 'iso-bios/hello.iso' },
  'iso-efi': { kind: 'cdrom', firmware: 'efi', image: 'iso-efi/hello-efi.iso' },
  'iso-efi-initrd': { kind: 'cdrom', firmware: 'efi', image: 'iso-efi-initrd/hello-efi-initrd.iso' },
  'raw-bios': { kind: 'disk', image: 'raw-bios/hello-bios.img' },
  'raw-efi': { kind: 'disk', firmware: 'efi', image: 'raw-efi/hello-efi.img' },
  'qcow2-bios': { kind: 'disk', image: 'qcow2-bios/hello.qcow2', imageFormat: 'qcow2' },
  'qcow2-efi': { kind: 'disk', firmware: 'efi', image: 'qcow2-efi/hello-efi.qcow2', imageFormat: 'qcow2' },
  vhd: { kind: 'disk', image: 'vhd/hello.vhd', imageFormat: 'vpc' },
  'dynamic-vhd': { kind: 'disk', image: 'dynamic-vhd/hello.vhd', imageFormat: 'vpc' },
  vmdk: { kind: 'disk', image: 'vmdk/hello.vmdk', imageFormat: 'vmdk' },
  gcp: { kind: 'disk', image: 'gcp/disk.raw' },
  aws: { kind: 'disk', image: 'aws/hello.raw' },
  uki: { kind: 'efi-kernel', kernel: 'uki/hello.efi' },
};

let ws: Workspace;
let built: ChildRun;

before(async () => {
  ws = await prepareWorkspace('mobyts-boot-formats-');
  built = buildAsNobody(ws, 'boot', Object.keys(BOOTS));
  if (built.status === 0)
    execFileSync('tar', ['-xzf', join(built.outDir, 'gcp', 'hello.img.tar.gz'), '-C', join(built.outDir, 'gcp')]);
});
after(() => rmSync(ws.dir, { recursive: true, force: true }));

void test('the bootable formats build as uid 65534', () => {
  assert.equal(built.status, 0, built.stderr);
});

for (const [format, boot] of Object.entries(BOOTS)) {
  void test(`${format} boots under QEMU TCG (${boot.firmware === 'efi' || boot.kind === 'efi-kernel' ? 'OVMF' : 'SeaBIOS'}) to the initrd's marker`, async () => {
    assert.equal(built.status, 0, 'build failed');
    const rel = (p: string | undefined) => (p === undefined ? undefined : join(built.outDir, p));
    const r = await bootImage({
      ...boot,
      image: rel(boot.image),
      kernel: rel(boot.kernel),
      mem: 512,
      until: [MARKER],
      timeoutSeconds: 240,
    });
    assert.ok(r.ok, r.failure);
    assert.ok(r.console.includes(MARKER));
  });
}
