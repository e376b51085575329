/**
 * The real modules behind the assembly's `RootfsDeps` and the initrd writer: flattening (image/), the tar
 * reader (tar/), the kernel decompressor and initrd writer (initrd/), and the runtime's bundle files.
 */
import { flattenImage } from '../image/flatten.ts';
import { decompressKernel } from '../initrd/decompress-kernel.ts';
import { planSegmentedInitrd } from '../initrd/segments.ts';
import type { BundleFiles, BundleConfigInput, RootfsDeps } from '../rootfs/deps.ts';
import { bundleFiles, renderMetadata, type IdMap } from '../runtime/index.ts';
import { parseMobyLabel } from '../spec/label.ts';
import type { MobySpec } from '../spec/types.ts';
import { readTar } from '../tar/read.ts';
import type { Reporter } from '../util/reporter.ts';
import type { InitrdWriter } from './execute.ts';

const LABEL = 'org.mobyproject.config';

function bundle(spec: MobySpec, idMap: IdMap): (i: BundleConfigInput) => BundleFiles {
  return (i) => {
    const config = i.image.config ?? {};
    const labelText = config.Labels?.[LABEL];
    const label = labelText === undefined ? undefined : parseMobyLabel(labelText, i.entry.image);
    return bundleFiles(
      i.entry,
      { config, ...(label === undefined ? {} : { label }) },
      {
        idMap,
        volumes: spec.volumes ?? [],
        section: i.section,
        index: i.index,
        ...(i.sharedRoot === undefined ? {} : { sharedRoot: i.sharedRoot }),
      },
    );
  };
}

/** The assembly's dependencies for one build of `spec` (already image-expanded); warnings go to `reporter`. */
export function rootfsDeps(spec: MobySpec, idMap: IdMap, reporter: Reporter): RootfsDeps {
  return {
    flatten: (source, layers) => flattenImage(source, { reporter, ...(layers === undefined ? {} : { layers }) }),
    readTar: (input) => readTar(input, { subject: 'kernel modules tar' }),
    decompressKernel: (kernel) => decompressKernel(kernel),
    bundle: bundle(spec, idMap),
    renderMetadata,
  };
}

export const initrdWriter: InitrdWriter = (sections, opts) => planSegmentedInitrd(sections, opts);
