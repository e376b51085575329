/**
 * Step "resolve/pull": every image the spec names, fetched once per distinct reference, in parallel, for the
 * target platform, through the store (cache first unless --pull). Fails with the store's MobyError.
 */
import type { ImageSource } from '../image/source.ts';
import { parseReference } from '../oci/reference.ts';
import type { ResolvedImages } from '../rootfs/assemble.ts';
import type { ContainerItem } from '../rootfs/bundles.ts';
import { CONTAINER_SECTIONS, type MobySpec } from '../spec/types.ts';
import { specImageRefs } from '../lock/spec-images.ts';
import { MobyError } from '../util/errors.ts';
import { mapLimit } from '../util/map-limit.ts';

/** Fetches `ref` (an expanded spec reference) for `platform` (`linux/arm64`; default: the build's). */
export type GetImage = (ref: string, platform?: string) => Promise<ImageSource>;

/**
 * Fetches every image (at most `parallel` at a time) and arranges them as the assembly wants them. Each
 * source's `ref` is the spec's reference, expanded (what LinuxKit writes in `LINUXKIT.source` records and
 * log lines, and keys image sharing on); `manifestDigest` says what it resolved to.
 */
export async function resolveImages(spec: MobySpec, get: GetImage, parallel = 4): Promise<ResolvedImages> {
  const refs = specImageRefs(spec);
  const got = new Map<string, ImageSource>();
  await mapLimit(refs, parallel, async (ref) => got.set(ref, { ...(await get(ref)), ref: parseReference(ref) }));
  const at = (ref: string): ImageSource => {
    const s = got.get(ref);
    if (s === undefined)
      throw new MobyError(`Cannot find "${ref}" among the resolved images: this is a bug`, { code: 'BUILD' });
    return s;
  };
  const containers: ContainerItem[] = CONTAINER_SECTIONS.flatMap((section) =>
    (spec[section] ?? []).map((entry, index) => ({ section, index, entry, source: at(entry.image) })),
  );
  const kernel = spec.kernel?.image;
  const ociVolumes = new Map<number, ImageSource[]>();
  for (const [i, v] of (spec.volumes ?? []).entries()) {
    if (
      v.format !== 'oci' ||
      v.image === undefined ||
      v.image === '' ||
      v.platforms === undefined ||
      v.platforms.length === 0
    )
      continue;
    const image = v.image;
    ociVolumes.set(
      i,
      await Promise.all(v.platforms.map(async (p) => ({ ...(await get(image, p)), ref: parseReference(image) }))),
    );
  }
  return {
    ociVolumes,
    ...(kernel === undefined || kernel === '' ? {} : { kernel: at(kernel) }),
    init: (spec.init ?? []).map(at),
    volumes: (spec.volumes ?? []).map((v, i) =>
      v.image === undefined || v.image === '' ? undefined : (ociVolumes.get(i)?.[0] ?? at(v.image)),
    ),
    containers,
  };
}
