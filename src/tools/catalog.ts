/**
 * Every host program or data file an output format may need, declared once with why it is needed and how to
 * install it (docs/architecture.md#tools). Formats list the entries they use; `preflight` checks them all before any
 * pull.
 */
import type { ToolRequirement } from './requirement.ts';

function tool(command: string, why: string, debian: string, fedora: string, macos?: string): ToolRequirement {
  return { command, why, install: macos === undefined ? { debian, fedora } : { debian, fedora, macos } };
}

export const TOOLS = {
  xorriso: tool(
    'xorriso',
    'writes ISO 9660 images',
    'apt-get install xorriso',
    'dnf install xorriso',
    'brew install xorriso',
  ),
  mkfsVfat: tool(
    'mkfs.vfat',
    'creates the FAT boot/EFI system partition',
    'apt-get install dosfstools',
    'dnf install dosfstools',
    'brew install dosfstools',
  ),
  mcopy: tool(
    'mcopy',
    'copies files into FAT images without mounting them',
    'apt-get install mtools',
    'dnf install mtools',
    'brew install mtools',
  ),
  mmd: tool(
    'mmd',
    'creates directories in FAT images without mounting them',
    'apt-get install mtools',
    'dnf install mtools',
    'brew install mtools',
  ),
  syslinux: tool(
    'syslinux',
    'installs the SYSLINUX BIOS loader into a FAT image through mtools',
    'apt-get install syslinux',
    'dnf install syslinux',
  ),
  isolinuxBin: tool(
    '/usr/lib/ISOLINUX/isolinux.bin',
    'BIOS El Torito loader of the ISO',
    'apt-get install isolinux',
    'dnf install syslinux (then link /usr/share/syslinux/isolinux.bin here)',
  ),
  isohdpfx: tool(
    '/usr/lib/ISOLINUX/isohdpfx.bin',
    'hybrid MBR so the BIOS ISO also boots from a USB disk',
    'apt-get install isolinux',
    'dnf install syslinux (then link /usr/share/syslinux/isohdpfx.bin here)',
  ),
  ldlinux: tool(
    '/usr/lib/syslinux/modules/bios/ldlinux.c32',
    'ISOLINUX second stage',
    'apt-get install syslinux-common',
    'dnf install syslinux (then link /usr/share/syslinux/ldlinux.c32 here)',
  ),
  syslinuxMbr: tool(
    '/usr/lib/syslinux/mbr/mbr.bin',
    'BIOS boot code of the MBR disk',
    'apt-get install syslinux-common',
    'dnf install syslinux (then link /usr/share/syslinux/mbr.bin here)',
  ),
  grubMkimage: tool(
    'grub-mkimage',
    'builds the GRUB EFI loader of the EFI ISOs',
    'apt-get install grub-common',
    'dnf install grub2-tools',
    'brew install x86_64-elf-grub',
  ),
  grubEfiModules: tool(
    '/usr/lib/grub/x86_64-efi/linux.mod',
    'GRUB x86_64-efi modules',
    'apt-get install grub-efi-amd64-bin',
    'dnf install grub2-efi-x64-modules',
  ),
  tar: tool(
    'tar',
    'packs the GRUB memdisk and the GCP disk archive, as GNU tar',
    'apt-get install tar',
    'dnf install tar',
    'brew install gnu-tar (and put its gnubin first on PATH)',
  ),
  systemdStub: tool(
    '/usr/lib/systemd/boot/efi/linuxx64.efi.stub',
    'EFI stub of the unified kernel image (UKI)',
    'apt-get install systemd-boot-efi',
    'dnf install systemd-boot-unsigned (then link /usr/lib/systemd/boot/efi/linuxx64.efi.stub here)',
  ),
  objcopy: tool(
    'objcopy',
    'adds kernel, initrd and cmdline sections to the EFI stub',
    'apt-get install binutils',
    'dnf install binutils',
    'brew install binutils',
  ),
  qemuImg: tool(
    'qemu-img',
    'converts the raw disk to qcow2/vhd/vmdk',
    'apt-get install qemu-utils',
    'dnf install qemu-img',
    'brew install qemu',
  ),
  qemuSystemX86: tool(
    'qemu-system-x86_64',
    'boots amd64 images for `mobyts run qemu` and the boot tests',
    'apt-get install qemu-system-x86',
    'dnf install qemu-system-x86',
    'brew install qemu',
  ),
  ovmf: tool(
    '/usr/share/ovmf/OVMF.fd',
    'UEFI firmware for EFI boots under qemu (`mobyts run qemu --uefi`, EFI formats)',
    'apt-get install ovmf',
    'dnf install edk2-ovmf (then link /usr/share/edk2/ovmf/OVMF_CODE.fd here)',
  ),
  mksquashfs: tool(
    'mksquashfs',
    'writes the squashfs root filesystem',
    'apt-get install squashfs-tools',
    'dnf install squashfs-tools',
    'brew install squashfs',
  ),
  mkfsErofs: tool(
    'mkfs.erofs',
    'writes the erofs root filesystem',
    'apt-get install erofs-utils',
    'dnf install erofs-utils',
    'brew install erofs-utils',
  ),
  gzip: tool('gzip', 'compresses the GCP disk archive', 'apt-get install gzip', 'dnf install gzip'),
  xz: tool(
    'xz',
    'decompresses an xz-compressed kernel (its embedded config, --decompress-kernel)',
    'apt-get install xz-utils',
    'dnf install xz',
    'brew install xz',
  ),
  qemuSystemAarch64: tool(
    'qemu-system-aarch64',
    'boots arm64 images for `mobyts run qemu` and the boot tests',
    'apt-get install qemu-system-arm',
    'dnf install qemu-system-aarch64',
    'brew install qemu',
  ),
  aavmf: tool(
    '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd',
    'arm64 UEFI firmware (AAVMF) for EFI boots under qemu-system-aarch64',
    'apt-get install qemu-efi-aarch64',
    'dnf install edk2-aarch64 (then link /usr/share/edk2/aarch64/QEMU_EFI.fd here)',
  ),
  objcopyAarch64: tool(
    'aarch64-linux-gnu-objcopy',
    'adds kernel, initrd and cmdline sections to the arm64 EFI stub (the host objcopy knows only x86 PE)',
    'apt-get install binutils-aarch64-linux-gnu',
    'dnf install binutils-aarch64-linux-gnu',
  ),
  aptGet: tool(
    'apt-get',
    "downloads Debian's EFI loader packages for another architecture (apt-get download; nothing is installed)",
    'apt-get is part of apt (Debian/Ubuntu)',
    'not available: install the loader files at their Debian paths',
  ),
  aptCache: tool(
    'apt-cache',
    'finds the version of a Debian loader package for another architecture',
    'apt-cache is part of apt (Debian/Ubuntu)',
    'not available: install the loader files at their Debian paths',
  ),
  dpkgDeb: tool(
    'dpkg-deb',
    'unpacks a downloaded Debian package without installing or running it',
    'apt-get install dpkg',
    'dnf install dpkg',
  ),
  lz4: tool(
    'lz4',
    'decompresses an lz4-compressed kernel for --decompress-kernel',
    'apt-get install lz4',
    'dnf install lz4',
    'brew install lz4',
  ),
} as const satisfies Record<string, ToolRequirement>;

export type ToolName = keyof typeof TOOLS;
