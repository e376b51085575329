/** `vmdk` → `N.vmdk`: the BIOS disk at `--size` as a streamOptimized VMDK (lsilogic, compat6), as LinuxKit's. */
import { diskFormat } from './disk-format-kit.ts';

export const vmdk = diskFormat({
  name: 'vmdk',
  file: (n) => `${n}.vmdk`,
  qemuFormat: 'vmdk',
  layout: 'bios',
  target: { kind: 'vmdk-stream' },
  sized: true,
});
