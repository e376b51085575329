/**
 * Every image reference a (normalised) spec pulls: kernel, init, volumes, onboot, onshutdown, services. The one
 * walk over a spec's images, shared by the build plan (pipeline/plan.ts), the build's fetch
 * (pipeline/resolve-images.ts) and `mobyts lock` (docs/architecture.md#pipeline).
 */
import { CONTAINER_SECTIONS, type MobySpec } from '../spec/types.ts';

/** The references of a spec, each once, in build order: kernel, init, volumes, onboot, onshutdown, services. */
export function specImageRefs(spec: MobySpec): string[] {
  const refs = [
    spec.kernel?.image,
    ...(spec.init ?? []),
    ...(spec.volumes ?? []).map((v) => v.image),
    ...CONTAINER_SECTIONS.flatMap((s) => (spec[s] ?? []).map((e) => e.image)),
  ];
  return [...new Set(refs.filter((r): r is string => r !== undefined && r !== ''))];
}

/**
 * Each image of the spec once per platform it is read for: every reference for the build's platform
 * (`undefined`), then each `format: oci` volume's image for every platform it lists (`linux/arm64`…), in spec
 * order, each pair once.
 */
export function specImagePlatforms(spec: MobySpec): { ref: string; platform?: string }[] {
  const out: { ref: string; platform?: string }[] = specImageRefs(spec).map((ref) => ({ ref }));
  const seen = new Set<string>();
  for (const v of spec.volumes ?? []) {
    if (v.format !== 'oci' || v.image === undefined || v.image === '') continue;
    for (const platform of v.platforms ?? []) {
      const key = `${v.image}\n${platform}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ ref: v.image, platform });
    }
  }
  return out;
}
