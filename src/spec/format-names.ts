/**
 * The names of the output formats (LinuxKit's, plus mobyts' `uki`), as a type only. It lives in spec/ because a
 * spec names its formats (`outputs[].format`), and outputs/ sits above spec/ (docs/architecture.md#layers);
 * `outputs/index.ts` must hold exactly one record per name (the compiler checks it), and the schema's enum is
 * checked against that table.
 */
export type FormatName =
  | 'kernel+initrd'
  | 'tar-kernel-initrd'
  | 'tar'
  | 'docker'
  | 'iso-bios'
  | 'iso-efi'
  | 'iso-efi-initrd'
  | 'raw-bios'
  | 'raw-efi'
  | 'qcow2-bios'
  | 'qcow2-efi'
  | 'vhd'
  | 'dynamic-vhd'
  | 'vmdk'
  | 'gcp'
  | 'aws'
  | 'kernel+squashfs'
  | 'kernel+erofs'
  | 'kernel+iso'
  | 'uki';
