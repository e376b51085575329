/**
 * Where a setting came from, and the error a bad one raises. Every config error names the container, the
 * image and the field, and says whether the image's `org.mobyproject.config` label or the spec supplied it.
 */
import { MobyError } from '../util/errors.ts';
import type { ImageConfigSpec } from '../spec/types.ts';

/** The container being converted; `image` as written in the spec. */
export interface ConfigContext {
  readonly name: string;
  readonly image: string;
}

export type Origin = 'spec' | 'label';

/** A field value and which layer supplied it. */
export interface Picked<T> {
  readonly value: T;
  readonly from: Origin;
}

/** `SPEC_INVALID` for a bad spec value, `IMAGE_CONFIG` for a bad label value. */
export function configError(ctx: ConfigContext, field: string, detail: string, from: Origin): MobyError {
  const where = from === 'label' ? " (from the image's org.mobyproject.config label)" : '';
  return new MobyError(
    `Cannot create the OCI config of container "${ctx.name}" (image "${ctx.image}"): ${field}${where}: ${detail}`,
    {
      code: from === 'label' ? 'IMAGE_CONFIG' : 'SPEC_INVALID',
      hint: from === 'label' ? 'override the field in the spec entry, or fix the image label' : undefined,
    },
  );
}

/** LinuxKit's "YAML if present, else label if present" (present = not nil; `[]` and `""` are present). */
export function pick<K extends keyof ImageConfigSpec>(
  spec: ImageConfigSpec,
  label: ImageConfigSpec,
  key: K,
): Picked<NonNullable<ImageConfigSpec[K]>> | undefined {
  const s = spec[key];
  if (s !== undefined && s !== null) return { value: s, from: 'spec' };
  const l = label[key];
  if (l !== undefined && l !== null) return { value: l, from: 'label' };
  return undefined;
}

/** LinuxKit's "YAML if non-empty, else label if non-empty" for plain strings. */
export function pickString(
  spec: ImageConfigSpec,
  label: ImageConfigSpec,
  key: 'cwd' | 'net' | 'pid' | 'ipc' | 'uts' | 'userns' | 'hostname',
): string {
  const s = spec[key];
  if (typeof s === 'string' && s !== '') return s;
  const l = label[key];
  return typeof l === 'string' ? l : '';
}
