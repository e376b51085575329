/** Every image reference a (normalised) spec pulls: kernel, init, onboot, onshutdown, services, volumes. */
import { CONTAINER_SECTIONS, type MobySpec } from '../spec/types.ts';

/** Sorted, de-duplicated image references of `spec`, as written in it (expand with `normaliseSpec` first). */
export function specImages(spec: MobySpec): string[] {
  const out = new Set<string>();
  if (spec.kernel !== undefined && spec.kernel.image !== '') out.add(spec.kernel.image);
  for (const i of spec.init ?? []) out.add(i);
  for (const section of CONTAINER_SECTIONS) for (const e of spec[section] ?? []) out.add(e.image);
  for (const v of spec.volumes ?? []) if (v.image !== undefined && v.image !== '') out.add(v.image);
  return [...out].sort();
}
