/** `aws` → `N.raw`: the BIOS disk at `--size` as a raw image for AWS import. */
import { diskFormat } from './disk-format-kit.ts';

export const aws = diskFormat({ name: 'aws', file: (n) => `${n}.raw`, qemuFormat: 'raw', layout: 'bios', sized: true });
