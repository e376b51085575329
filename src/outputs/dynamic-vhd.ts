/** `dynamic-vhd` → `N.vhd`: the BIOS disk at `--size` as a dynamic VHD. */
import { diskFormat } from './disk-format-kit.ts';

export const dynamicVhd = diskFormat({
  name: 'dynamic-vhd',
  file: (n) => `${n}.vhd`,
  qemuFormat: 'vpc',
  layout: 'bios',
  target: { kind: 'vhd-dynamic' },
  sized: true,
});
