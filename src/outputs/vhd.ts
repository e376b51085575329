/** `vhd` → `N.vhd`: the BIOS disk at `--size` as a fixed VHD (`qemu-img -O vpc -o subformat=fixed,force_size`). */
import { diskFormat } from './disk-format-kit.ts';

export const vhd = diskFormat({
  name: 'vhd',
  file: (n) => `${n}.vhd`,
  qemuFormat: 'vpc',
  layout: 'bios',
  target: { kind: 'vhd-fixed' },
  sized: true,
});
