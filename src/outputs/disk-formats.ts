/**
 * The disk, ISO, cloud and rootfs-image formats (issue 6), for the format table in `outputs/index.ts`.
 */
import { aws } from './aws.ts';
import type { OutputFormat } from './format.ts';
import { dynamicVhd } from './dynamic-vhd.ts';
import { gcp } from './gcp.ts';
import { isoBios } from './iso-bios.ts';
import { isoEfiInitrd } from './iso-efi-initrd.ts';
import { isoEfi } from './iso-efi.ts';
import { kernelErofs } from './kernel-erofs.ts';
import { kernelIso } from './kernel-iso.ts';
import { kernelSquashfs } from './kernel-squashfs.ts';
import { qcow2Bios } from './qcow2-bios.ts';
import { qcow2Efi } from './qcow2-efi.ts';
import { rawBios } from './raw-bios.ts';
import { rawEfi } from './raw-efi.ts';
import { uki } from './uki.ts';
import { vhd } from './vhd.ts';
import { vmdk } from './vmdk.ts';

export const DISK_FORMATS: readonly OutputFormat[] = [
  isoBios, isoEfi, isoEfiInitrd, rawBios, rawEfi, qcow2Bios, qcow2Efi, vhd, dynamicVhd, vmdk, gcp, aws,
  kernelSquashfs, kernelErofs, kernelIso, uki,
];
