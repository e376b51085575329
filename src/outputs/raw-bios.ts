/** `raw-bios` → `N-bios.img`: LinuxKit's BIOS disk: MBR, one bootable FAT partition at 1 MiB with syslinux, `kernel`, `initrd.img` and `syslinux.cfg` (`KERNEL /kernel`, `INITRD /initrd.img`, `APPEND <cmdline>`); sized to its content plus 4 MiB like LinuxKit's. */
import { diskFormat } from './disk-format-kit.ts';

export const rawBios = diskFormat({
  name: 'raw-bios',
  file: (n) => `${n}-bios.img`,
  qemuFormat: 'raw',
  layout: 'bios',
  sized: false,
});
