/** `raw-efi` → `N-efi.img`: an EFI disk: GPT with one EFI System Partition at 1 MiB whose `EFI/BOOT/BOOTX64.EFI` is a UKI (kernel + initrd + cmdline); sized to its content. */
import { diskFormat } from './disk-format-kit.ts';

export const rawEfi = diskFormat({
  name: 'raw-efi',
  file: (n) => `${n}-efi.img`,
  qemuFormat: 'raw',
  layout: 'efi',
  sized: false,
});
