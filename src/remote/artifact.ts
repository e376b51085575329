/**
 * A build's outputs as one OCI artifact (docs/scale.md#artifacts), in the layout ORAS writes so `oras pull`,
 * `skopeo copy` and `crane` fetch it: an image manifest with `artifactType`, the empty config, one layer per
 * output file titled with its file name (`org.opencontainers.image.title`), the SBOM as one more layer, and
 * the spec's digest and the build name as manifest annotations. Pushing is content-addressed (blobs the
 * registry has are skipped) and streams files from disk; pulling verifies every file while it streams and
 * renames the files into place only when all of them verified.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { tempNameFor, asIoError, sweepTemps } from '../util/atomic.ts';
import { digestOf, digestOfFile, type Digest } from '../oci/digest.ts';
import { parseReference, type Reference } from '../oci/reference.ts';
import { MediaType, type Descriptor, type ImageManifest } from '../oci/types.ts';
import { verifyStream } from '../oci/verify.ts';
import { createRegistryClient, pullContext, pushContext, type RegistryClient } from '../registry/client.ts';
import type { RegistryOptions } from '../store/types.ts';
import { MobyError } from '../util/errors.ts';
import type { Reporter } from '../util/reporter.ts';

/** `artifactType` of a build's outputs. */
export const BUILD_ARTIFACT_TYPE = 'application/vnd.mobyts.build.v1';
/** Media type of one output file (its bytes, as the build wrote them). */
export const OUTPUT_MEDIA_TYPE = 'application/vnd.mobyts.build.output.v1';
export const SBOM_MEDIA_TYPE = 'application/spdx+json';
export const TITLE = 'org.opencontainers.image.title';
export const SPEC_DIGEST_ANNOTATION = 'dev.mobyts.spec.digest';
export const NAME_ANNOTATION = 'dev.mobyts.build.name';

/** The OCI empty descriptor (image-spec manifest.md "Guidance for an Empty Descriptor"). */
export const EMPTY_CONFIG = Buffer.from('{}');
export const EMPTY_DESCRIPTOR: Descriptor = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: digestOf(EMPTY_CONFIG),
  size: 2,
};

export interface ArtifactFile {
  /** Where the file is on disk, or `data` when it is in memory (the SBOM). */
  path?: string;
  data?: Buffer;
  /** Its name in the artifact (default: the path's basename). */
  name?: string;
  mediaType?: string;
}

export interface PushArtifactInput {
  ref: string;
  files: ArtifactFile[];
  /** The build name (-n), so `run qemu REF` finds the outputs as a prefix. */
  name?: string;
  specDigest?: string;
  registry: RegistryOptions;
  reporter: Reporter;
  signal?: AbortSignal;
}

export interface PushedArtifact {
  ref: Reference;
  digest: Digest;
  layers: Descriptor[];
}

async function fileDescriptor(f: ArtifactFile): Promise<Descriptor> {
  const { digest, size } =
    f.data !== undefined
      ? { digest: digestOf(f.data), size: f.data.length }
      : await digestOfFile(f.path ?? '').catch((err: unknown) => {
          throw asIoError('read', f.path ?? '', err);
        });
  const name = f.name ?? basename(f.path ?? '');
  return {
    mediaType: f.mediaType ?? OUTPUT_MEDIA_TYPE,
    digest,
    size,
    annotations: { [TITLE]: name },
  };
}

/** The artifact manifest for these layers (deterministic: the same files give the same digest). */
export function artifactManifest(layers: Descriptor[], annotations: Record<string, string>): Buffer {
  const m: ImageManifest & { artifactType: string } = {
    schemaVersion: 2,
    mediaType: MediaType.OCI_MANIFEST,
    artifactType: BUILD_ARTIFACT_TYPE,
    config: EMPTY_DESCRIPTOR,
    layers,
    ...(Object.keys(annotations).length === 0 ? {} : { annotations }),
  };
  return Buffer.from(JSON.stringify(m));
}

/** Pushes `files` as one artifact under `ref` (its tag, or its digest when it has none); resolves with the manifest digest. */
export async function pushArtifact(input: PushArtifactInput): Promise<PushedArtifact> {
  const ref = parseReference(input.ref);
  if (ref.digest !== undefined)
    throw new MobyError(`Cannot push "${input.ref}": push to a tag, not a digest`, { code: 'USAGE', exitCode: 2 });
  if (input.files.length === 0)
    throw new MobyError(`Cannot push "${input.ref}": no files to push`, { code: 'USAGE', exitCode: 2 });
  const layers = await Promise.all(input.files.map(fileDescriptor));
  const titles = layers.map((l) => l.annotations?.[TITLE] ?? '');
  const dup = titles.find((t, i) => titles.indexOf(t) !== i);
  if (dup !== undefined)
    throw new MobyError(`Cannot push "${input.ref}": two files are named "${dup}"`, { code: 'USAGE', exitCode: 2 });
  const client = createRegistryClient({
    registry: input.registry,
    ...(input.signal === undefined ? {} : { signal: input.signal }),
  });
  const ctx = pushContext(ref);
  try {
    for (const [i, layer] of layers.entries()) {
      const file = input.files[i];
      input.reporter.emit({ type: 'info', message: `  Pushing ${titles[i]} (${layer.size} bytes)` });
      await client.pushBlob(ctx, layer, file?.data ?? (() => createReadStream(file?.path ?? '')));
    }
    await client.pushBlob(ctx, EMPTY_DESCRIPTOR, EMPTY_CONFIG);
    const annotations: Record<string, string> = {
      ...(input.name === undefined ? {} : { [NAME_ANNOTATION]: input.name }),
      ...(input.specDigest === undefined ? {} : { [SPEC_DIGEST_ANNOTATION]: input.specDigest }),
    };
    const digest = await client.pushManifest(
      ctx,
      artifactManifest(layers, annotations),
      MediaType.OCI_MANIFEST,
      ref.tag ?? 'latest',
    );
    return { ref, digest, layers };
  } finally {
    await client.close();
  }
}

export interface PullArtifactInput {
  ref: string;
  dir: string;
  registry: RegistryOptions;
  reporter: Reporter;
  signal?: AbortSignal;
}

export interface PulledArtifact {
  digest: Digest;
  /** The files written, in manifest order (paths inside `dir`). */
  files: string[];
  /** The build name annotation, when the artifact is a mobyts build. */
  name: string | undefined;
  annotations: Record<string, string>;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f]/;

/** A title that is one plain file name: no directories, no `.`/`..`, no hidden names, no control characters. */
function safeTitle(subject: string, title: string): string {
  if (title === '' || title.includes('/') || title.includes('\\') || title.startsWith('.') || CONTROL.test(title)) {
    throw new MobyError(`${subject}: the artifact names a file "${title}", which is not a plain file name`, {
      code: 'UNSAFE_CONTENT',
    });
  }
  return title;
}

function parseArtifact(subject: string, bytes: Buffer): ImageManifest {
  let m: Partial<ImageManifest> & { manifests?: unknown };
  try {
    m = JSON.parse(bytes.toString('utf8')) as typeof m;
  } catch {
    throw new MobyError(`${subject}: the manifest is not JSON`, { code: 'REGISTRY' });
  }
  if (m.manifests !== undefined)
    throw new MobyError(`${subject}: it is an image index, not an artifact of files`, {
      code: 'USAGE',
      exitCode: 2,
      hint: 'pull images with `mobyts cache pull`',
    });
  if (!Array.isArray(m.layers)) throw new MobyError(`${subject}: the manifest has no layers`, { code: 'REGISTRY' });
  return m as ImageManifest;
}

async function download(
  client: RegistryClient,
  ctx: ReturnType<typeof pullContext>,
  layer: Descriptor,
  dest: string,
  signal?: AbortSignal,
): Promise<string> {
  const temp = tempNameFor(dest);
  try {
    const body = await client.openBlob(ctx, layer);
    const checked = verifyStream(body, layer.digest, layer.size, {
      subject: `file ${basename(dest)} of ${ctx.ref.expanded}`,
    });
    await pipeline(
      checked,
      createWriteStream(temp, { flags: 'wx', mode: 0o644 }),
      ...(signal === undefined ? [] : [{ signal }]),
    );
    return temp;
  } catch (err) {
    await rm(temp, { force: true });
    throw asIoError('write', dest, err);
  }
}

/**
 * Fetches the files of the artifact `ref` into `dir` (created if missing). Every layer with a title is one
 * file; each is verified (digest and size) while it streams to a temporary name, and all are renamed into
 * place only once every one verified, so a failed pull leaves `dir` as it was.
 */
export async function pullArtifact(input: PullArtifactInput): Promise<PulledArtifact> {
  const ref = parseReference(input.ref);
  const ctx = pullContext(ref);
  const client = createRegistryClient({
    registry: input.registry,
    ...(input.signal === undefined ? {} : { signal: input.signal }),
  });
  const temps: string[] = [];
  try {
    const fetched = await client.fetchManifest(ctx, ref.digest ?? ref.tag ?? 'latest');
    const manifest = parseArtifact(ctx.subject, fetched.bytes);
    const layers = manifest.layers.filter((l) => l.annotations?.[TITLE] !== undefined);
    if (layers.length === 0)
      throw new MobyError(`${ctx.subject}: the artifact has no titled files`, { code: 'NOT_FOUND' });
    const names = layers.map((l) => safeTitle(ctx.subject, l.annotations?.[TITLE] ?? ''));
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined)
      throw new MobyError(`${ctx.subject}: the artifact names "${dup}" twice`, { code: 'UNSAFE_CONTENT' });
    await mkdir(input.dir, { recursive: true }).catch((err: unknown) => {
      throw asIoError('create the directory', input.dir, err);
    });
    const files = names.map((n) => join(input.dir, n));
    await sweepTemps(files); // what a pull killed with SIGKILL left beside these files
    for (const [i, layer] of layers.entries()) {
      input.reporter.emit({ type: 'info', message: `  Pulling ${names[i]} (${layer.size} bytes)` });
      temps.push(await download(client, ctx, layer, files[i] ?? '', input.signal));
    }
    for (const [i, temp] of temps.entries()) await rename(temp, files[i] ?? '');
    temps.length = 0;
    const annotations = manifest.annotations ?? {};
    return { digest: fetched.descriptor.digest, files, name: annotations[NAME_ANNOTATION], annotations };
  } finally {
    await Promise.all(temps.map((t) => rm(t, { force: true })));
    await client.close();
  }
}

/** Canonical JSON: object keys sorted at every level, so equal specs give equal bytes. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  return v;
}

/** The spec's digest as the artifact records it: sha256 of the normalised spec as canonical JSON. */
export function specDigestOf(spec: unknown): Digest {
  return digestOf(JSON.stringify(canonical(spec)));
}

/** True when `path` exists on this machine (so `run qemu NAME` means a local file or prefix, not a reference). */
export async function existsLocally(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
