/** `dynamic-vhd` → `N.vhd`: the BIOS disk at `--size` as a dynamic VHD. */
import { diskFormat } from './disk-format-kit.ts';

export const dynamicVhd = diskFormat({ name: 'dynamic-vhd', layout: 'bios', target: { kind: 'vhd-dynamic' }, sized: true });
