/**
 * The table of output formats (design.md §3.9). Adding a format = one import and one row; nothing else
 * switches over format names.
 */
import { didYouMean } from '../spec/suggest.ts';
import { MobyError } from '../util/errors.ts';
import { docker } from './docker.ts';
import type { OutputFormat } from './format.ts';
import { kernelInitrd } from './kernel-initrd.ts';
import { tar } from './tar.ts';
import { tarKernelInitrd } from './tar-kernel-initrd.ts';
import { isoBios } from './iso-bios.ts';
import { isoEfi } from './iso-efi.ts';
import { isoEfiInitrd } from './iso-efi-initrd.ts';
import { rawBios } from './raw-bios.ts';
import { rawEfi } from './raw-efi.ts';
import { qcow2Bios } from './qcow2-bios.ts';
import { qcow2Efi } from './qcow2-efi.ts';
import { vhd } from './vhd.ts';
import { dynamicVhd } from './dynamic-vhd.ts';
import { vmdk } from './vmdk.ts';
import { gcp } from './gcp.ts';
import { aws } from './aws.ts';
import { kernelSquashfs } from './kernel-squashfs.ts';
import { kernelErofs } from './kernel-erofs.ts';
import { kernelIso } from './kernel-iso.ts';
import { uki } from './uki.ts';

const FORMATS: readonly OutputFormat[] = [
  kernelInitrd,
  tarKernelInitrd,
  tar,
  docker,
  isoBios,
  isoEfi,
  isoEfiInitrd,
  rawBios,
  rawEfi,
  qcow2Bios,
  qcow2Efi,
  vhd,
  dynamicVhd,
  vmdk,
  gcp,
  aws,
  kernelSquashfs,
  kernelErofs,
  kernelIso,
  uki,
];

const BY_NAME = new Map(FORMATS.map((f) => [f.name, f]));

/** The record of a format, or a USAGE error suggesting the nearest name and listing the formats that exist. */
export function getFormat(name: string): OutputFormat {
  const f = BY_NAME.get(name);
  if (f !== undefined) return f;
  throw new MobyError(`Cannot build format "${name}": unknown format${didYouMean(name, BY_NAME.keys(), 1 / 2)}`, {
    code: 'USAGE',
    exitCode: 2,
    hint: `choose from ${FORMATS.map((x) => x.name).join(', ')}`,
  });
}

/** Every format implemented, in table order. */
export function allFormats(): readonly OutputFormat[] {
  return FORMATS;
}
