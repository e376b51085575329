/**
 * LinuxKit's output format names and the files each writes (docs/linuxkit-behaviour.md#formats), plus mobyts' `uki`.
 * The single source for format names: the schema's `outputs[].format` enum is checked against it in tests.
 */
export const OUTPUT_FILES = {
  'kernel+initrd': (n: string) => [`${n}-kernel`, `${n}-initrd.img`, `${n}-cmdline`],
  'tar-kernel-initrd': (n: string) => [`${n}-initrd.tar`],
  tar: (n: string) => [`${n}.tar`],
  docker: (n: string) => [`${n}.docker`],
  'iso-bios': (n: string) => [`${n}.iso`],
  'iso-efi': (n: string) => [`${n}-efi.iso`],
  'iso-efi-initrd': (n: string) => [`${n}-efi-initrd.iso`],
  'raw-bios': (n: string) => [`${n}-bios.img`],
  'raw-efi': (n: string) => [`${n}-efi.img`],
  'qcow2-bios': (n: string) => [`${n}.qcow2`],
  'qcow2-efi': (n: string) => [`${n}-efi.qcow2`],
  vhd: (n: string) => [`${n}.vhd`],
  'dynamic-vhd': (n: string) => [`${n}.vhd`],
  vmdk: (n: string) => [`${n}.vmdk`],
  gcp: (n: string) => [`${n}.img.tar.gz`],
  aws: (n: string) => [`${n}.raw`],
  'kernel+squashfs': (n: string) => [`${n}-kernel`, `${n}-squashfs.img`, `${n}-cmdline`],
  'kernel+erofs': (n: string) => [`${n}-kernel`, `${n}-erofs.img`, `${n}-cmdline`],
  'kernel+iso': (n: string) => [`${n}-kernel`, `${n}.iso`, `${n}-cmdline`],
  uki: (n: string) => [`${n}.efi`],
} as const satisfies Record<string, (name: string) => string[]>;

export type FormatName = keyof typeof OUTPUT_FILES;
export const FORMAT_NAMES = Object.keys(OUTPUT_FILES) as FormatName[];
/** Formats that are the filesystem tar itself and may go to `-o FILE|-` (docs/linuxkit-behaviour.md#formats). */
export const STREAMABLE_FORMATS: readonly FormatName[] = ['tar', 'docker'];

export function isFormatName(s: string): s is FormatName {
  return Object.hasOwn(OUTPUT_FILES, s);
}
