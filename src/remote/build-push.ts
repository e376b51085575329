/**
 * `mobyts build --push REF`: once every output is written, the outputs (and the SBOM the build rendered) go to
 * REF as one artifact, with the digest of the normalised spec (docs/scale.md#artifacts).
 */
import { join } from 'node:path';
import type { OutputPlan } from '../pipeline/outputs-plan.ts';
import type { RegistryOptions } from '../store/types.ts';
import { usageError } from '../util/errors.ts';
import type { Reporter } from '../util/reporter.ts';
import { pushArtifact, SBOM_MEDIA_TYPE, specDigestOf, type ArtifactFile, type PushedArtifact } from './artifact.ts';

/** Refuses `--push` with `-o -` before anything is built: stdout leaves nothing to push. */
export function checkPushable(plan: OutputPlan, push: string | undefined): void {
  if (push !== undefined && plan.streamTo === '-')
    throw usageError(
      'Cannot use --push with -o -: the output goes to stdout, so there is no file to push',
      'write it to a file with -o FILE, or use -d/-n',
    );
}

export interface BuildPushInput {
  ref: string;
  plan: OutputPlan;
  /** The normalised spec (its digest is recorded). */
  spec: unknown;
  sbom: string | undefined;
  registry: RegistryOptions;
  reporter: Reporter;
  signal: AbortSignal;
}

/** Pushes what the build wrote: `-o FILE`, else each format's files in the output directory. */
export async function pushBuildOutputs(x: BuildPushInput): Promise<PushedArtifact> {
  const paths =
    x.plan.streamTo !== undefined
      ? [x.plan.streamTo]
      : x.plan.formats.flatMap((f) => f.outputs(x.plan.name)).map((f) => join(x.plan.dir, f));
  const files: ArtifactFile[] = [...new Set(paths)].map((path) => ({ path }));
  if (x.sbom !== undefined)
    files.push({ data: Buffer.from(x.sbom), name: `${x.plan.name}.spdx.json`, mediaType: SBOM_MEDIA_TYPE });
  x.reporter.emit({ type: 'info', message: `Push outputs to ${x.ref}` });
  return pushArtifact({
    ref: x.ref,
    files,
    name: x.plan.name,
    specDigest: specDigestOf(x.spec),
    registry: x.registry,
    reporter: x.reporter,
    signal: x.signal,
  });
}
