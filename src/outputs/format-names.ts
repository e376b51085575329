/**
 * The names of the output formats (LinuxKit's, plus mobyts' `uki`), as a type only. A leaf module so the spec
 * layer can type `outputs[].format` without depending on the format records; `outputs/index.ts` must hold
 * exactly one record per name (the compiler checks it), and the schema's enum is checked against that table.
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
