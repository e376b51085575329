/**
 * `--size` (docs/linuxkit-behaviour.md#build-flags): `<n>M` (MiB), `<n>G` (GiB) or a bare `<n>` (GiB), as LinuxKit
 * reads it.
 */
import { usageError } from '../util/errors.ts';

export function parseSize(text: string): number {
  const m = /^(\d+)([MG]?)$/i.exec(text.trim());
  if (m === null || Number(m[1]) === 0)
    throw usageError(`Invalid --size "${text}": expected <n>M, <n>G or <n> (GiB), e.g. 1024M`);
  const unit = (m[2] ?? '').toUpperCase() === 'M' ? 2 ** 20 : 2 ** 30;
  return Number(m[1]) * unit;
}
