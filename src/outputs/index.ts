/**
 * The table of output formats: one record per name of the `FormatName` union (the compiler checks that every
 * name has a row; outputs/index.test.ts that each row's record carries its name). Adding a format = a name in spec/format-names.ts, one import and one row;
 * nothing else keeps a list of formats (docs/formats.md).
 */
import { didYouMean } from '../spec/suggest.ts';
import { MobyError } from '../util/errors.ts';
import { docker } from './docker.ts';
import type { OutputFormat } from './format.ts';
import type { FormatName } from '../spec/format-names.ts';
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

/** In the order of the schema's `outputs[].format` enum (checked by spec/types.test.ts). */
const TABLE: Readonly<Record<FormatName, OutputFormat>> = {
  'kernel+initrd': kernelInitrd,
  'tar-kernel-initrd': tarKernelInitrd,
  tar,
  docker,
  'iso-bios': isoBios,
  'iso-efi': isoEfi,
  'iso-efi-initrd': isoEfiInitrd,
  'raw-bios': rawBios,
  'raw-efi': rawEfi,
  'qcow2-bios': qcow2Bios,
  'qcow2-efi': qcow2Efi,
  vhd,
  'dynamic-vhd': dynamicVhd,
  vmdk,
  gcp,
  aws,
  'kernel+squashfs': kernelSquashfs,
  'kernel+erofs': kernelErofs,
  'kernel+iso': kernelIso,
  uki,
};

const FORMATS: readonly OutputFormat[] = Object.values(TABLE);

/** True when `name` is one of the format names. */
export function isFormatName(name: string): name is FormatName {
  return Object.hasOwn(TABLE, name);
}

/** The record of a format, or a USAGE error suggesting the nearest name and listing the formats that exist. */
export function getFormat(name: string): OutputFormat {
  if (isFormatName(name)) return TABLE[name];
  throw new MobyError(`Cannot build format "${name}": unknown format${didYouMean(name, Object.keys(TABLE), 1 / 2)}`, {
    code: 'USAGE',
    exitCode: 2,
    hint: `choose from ${FORMATS.map((x) => x.name).join(', ')}`,
  });
}

/** Every format implemented, in table order. */
export function allFormats(): readonly OutputFormat[] {
  return FORMATS;
}
