/** `qcow2-efi` → `N-efi.qcow2`: the EFI disk of raw-efi (GPT + ESP with a UKI) at `--size`, converted to qcow2. */
import { diskFormat } from './disk-format-kit.ts';

export const qcow2Efi = diskFormat({
  name: 'qcow2-efi',
  file: (n) => `${n}-efi.qcow2`,
  qemuFormat: 'qcow2',
  layout: 'efi',
  target: { kind: 'qcow2' },
  sized: true,
});
