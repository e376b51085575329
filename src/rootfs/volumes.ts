/**
 * Volumes (docs/linuxkit-behaviour.md#volumes, #volumes-tar): `containers/volumes/<name>/lower` holds the content
 * (nothing, or an image's filesystem), followed by the empty `tmp` and `merged` directories the init overlays at boot.
 * Read-only volumes are enforced here, at build time: a container may bind one only with exactly `ro`.
 */
import type { ImageSource } from '../image/source.ts';
import type { ImageEntry, MobySpec, VolumeSpec } from '../spec/types.ts';
import { CONTAINER_SECTIONS } from '../spec/types.ts';
import type { EntryStream, TarEntry } from '../tar/entry.ts';
import { MobyError } from '../util/errors.ts';
import type { RootfsDeps } from './deps.ts';
import { imageEntries } from './image-entries.ts';
import { ociLayoutEntries } from './oci-volume.ts';
import { reuseOr, sectionKey, type InputTar } from './reuse.ts';
import { dirEntry } from './synth.ts';
import type { PathTracker } from './tracker.ts';

export interface VolumeSectionOptions {
  volumes: VolumeSpec[];
  /** The image of each volume, by index (absent for blank volumes). */
  sources: Array<ImageSource | undefined>;
  /** For `format: oci` volumes, by index: the image for each platform the layout holds. */
  ociSources: Map<number, ImageSource[]>;
  deps: RootfsDeps;
  tracker: PathTracker;
  mtime: number;
  keyContext?: unknown;
  inputTar?: InputTar;
  onReuse?(location: string, ref: string): void;
}

function* leading(path: string, o: { source: string; location: string; mtime: number }): Generator<TarEntry> {
  const parts = path.split('/');
  for (let i = 1; i <= parts.length; i++) yield dirEntry(parts.slice(0, i).join('/'), o);
}

async function* oneVolume(o: VolumeSectionOptions, i: number): EntryStream {
  const v = o.volumes[i] as VolumeSpec;
  const src = o.sources[i];
  const location = `volume[${i}]`;
  const dir = `containers/volumes/${v.name}`;
  const p = { source: src?.ref.expanded ?? 'empty', location, mtime: o.mtime };
  yield* leading(`${dir}/lower`, p);
  if (src !== undefined) {
    if (v.format === 'oci') {
      yield* ociLayoutEntries(`${dir}/lower`, o.ociSources.get(i) ?? [src], p);
    } else {
      yield* imageEntries(src, (s) => o.deps.flatten(s), {
        prefix: `${dir}/lower`,
        resolv: 'symlink',
        mtime: o.mtime,
        source: p.source,
        location,
        hint: (h) => o.tracker.hintDirs(h),
      });
    }
  }
  for (const d of ['tmp', 'merged'])
    yield dirEntry(`${dir}/${d}`, { source: 'linuxkit.volumes', location, mtime: o.mtime });
}

function volumeKey(o: VolumeSectionOptions, i: number): string {
  const sources = o.ociSources.get(i) ?? [o.sources[i]];
  return sectionKey({
    location: `volume[${i}]`,
    volume: o.volumes[i],
    digests: sources.map((s) => s?.manifestDigest),
    mtime: o.mtime,
    context: o.keyContext,
  });
}

export async function* volumeSection(o: VolumeSectionOptions): EntryStream {
  for (let i = 0; i < o.volumes.length; i++) yield* volumeStream(o, i);
}

/** Volume `i`: `containers/volumes/<name>/…`. */
export async function* volumeStream(o: VolumeSectionOptions, i: number): EntryStream {
  const location = `volume[${i}]`;
  const key = volumeKey(o, i);
  const ref = o.sources[i]?.ref.expanded ?? o.volumes[i]?.name ?? '';
  yield* o.tracker.filter(
    reuseOr(o.inputTar, { location, key, onReuse: () => o.onReuse?.(location, ref) }, () => oneVolume(o, i)),
    location,
    key,
  );
}

function bindIsWritable(bind: string, readonly: Set<string>): string | undefined {
  const [src, , opts] = bind.split(':');
  if (src === undefined || !readonly.has(src)) return undefined;
  return opts === 'ro' ? undefined : src;
}

function mountIsWritable(m: NonNullable<ImageEntry['mounts']>[number], readonly: Set<string>): string | undefined {
  if (m.source === undefined || !readonly.has(m.source)) return undefined;
  const opts = m.options ?? [];
  const ro = opts.indexOf('ro');
  const rw = opts.indexOf('rw');
  return ro >= 0 && (rw < 0 || ro < rw) ? undefined : m.source;
}

/** Throws when a container would get a read-only volume read-write (LinuxKit's `build/volume.go` rule). */
export function checkReadonlyVolumes(spec: MobySpec): void {
  const readonly = new Set((spec.volumes ?? []).filter((v) => v.readonly === true).map((v) => v.name));
  if (readonly.size === 0) return;
  for (const section of CONTAINER_SECTIONS) {
    for (const [i, e] of (spec[section] ?? []).entries()) {
      const binds = [...(e.binds ?? []), ...(e['binds.add'] ?? [])].map((b) => bindIsWritable(b, readonly));
      const mounts = (e.mounts ?? []).map((m) => mountIsWritable(m, readonly));
      const bad = [...binds, ...mounts].find((x) => x !== undefined);
      if (bad !== undefined) {
        throw new MobyError(
          `Cannot bind volume "${bad}" into ${section}[${i}] "${e.name}": the volume is read-only, but the container would write to it`,
          {
            code: 'SPEC_INVALID',
            hint: `bind it with the option "ro" (e.g. "${bad}:/${bad}:ro")`,
          },
        );
      }
    }
  }
}
