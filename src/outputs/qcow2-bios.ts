/** `qcow2-bios` → `N.qcow2`: the BIOS disk of raw-bios at `--size`, converted to qcow2 (LinuxKit: ext4 + extlinux; mobyts: FAT + syslinux, see docs/formats.md). */
import { diskFormat } from './disk-format-kit.ts';

export const qcow2Bios = diskFormat({
  name: 'qcow2-bios',
  file: (n) => `${n}.qcow2`,
  qemuFormat: 'qcow2',
  layout: 'bios',
  target: { kind: 'qcow2' },
  sized: true,
});
