/**
 * The table of output formats (design.md §3.9). Adding a format = one import and one row; nothing else
 * switches over format names.
 */
import { MobyError } from '../util/errors.ts';
import { docker } from './docker.ts';
import type { OutputFormat } from './format.ts';
import { kernelInitrd } from './kernel-initrd.ts';
import { tar } from './tar.ts';
import { tarKernelInitrd } from './tar-kernel-initrd.ts';

const FORMATS: readonly OutputFormat[] = [
  kernelInitrd,
  tarKernelInitrd,
  tar,
  docker,
];

const BY_NAME = new Map(FORMATS.map((f) => [f.name, f]));

/** The record of a format, or a USAGE error naming the formats that exist. */
export function getFormat(name: string): OutputFormat {
  const f = BY_NAME.get(name);
  if (f !== undefined) return f;
  throw new MobyError(`Cannot build format "${name}": unknown format`, {
    code: 'USAGE',
    exitCode: 2,
    hint: `choose from ${FORMATS.map((x) => x.name).join(', ')}`,
  });
}

/** Every format implemented, in table order. */
export function allFormats(): readonly OutputFormat[] {
  return FORMATS;
}
