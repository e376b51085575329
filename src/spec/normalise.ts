/**
 * The spec the build works from: the user's spec with every image reference expanded as LinuxKit's
 * `UpdateImages` does (`linuxkit/init:x` → `docker.io/linuxkit/init:x`, docs/linuxkit-behaviour.md#references).
 * Defaults such as kernel `binary`/`tar` are deliberately not written in: consumers apply them, and `metadata` files
 * keep showing what the user wrote.
 */
import { parseReference } from '../oci/reference.ts';
import type { ImageEntry, MobySpec } from './types.ts';
import { CONTAINER_SECTIONS } from './types.ts';

/** The expanded form of `ref`, or `ref` unchanged when it does not parse (e.g. an unresolved `@pkg:`). */
export function expandImage(ref: string): string {
  try {
    return parseReference(ref).expanded;
  } catch {
    return ref;
  }
}

/** A copy of `spec` whose kernel, init, container and volume images are expanded; the input is not modified. */
export function expandSpecImages(spec: MobySpec): MobySpec {
  const out: MobySpec = structuredClone(spec);
  if (out.kernel !== undefined && out.kernel.image !== '') out.kernel.image = expandImage(out.kernel.image);
  if (out.init !== undefined) out.init = out.init.map(expandImage);
  for (const section of CONTAINER_SECTIONS) {
    const list: ImageEntry[] | undefined = out[section];
    if (list !== undefined) for (const e of list) e.image = expandImage(e.image);
  }
  for (const v of out.volumes ?? []) if (v.image !== undefined && v.image !== '') v.image = expandImage(v.image);
  return out;
}

/** The normalised spec the build uses: currently exactly `expandSpecImages(spec)`. */
export function normaliseSpec(spec: MobySpec): MobySpec {
  return expandSpecImages(spec);
}
