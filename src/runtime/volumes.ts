/**
 * Volume references in a container entry (docs/linuxkit-behaviour.md#volumes): a bind or `type: bind` mount whose
 * source does not start with `/` names a volume and is rewritten to `/containers/volumes/<name>/merged`; binding a
 * read-only volume needs `ro`. LinuxKit forgets to store the rewritten `mounts:` source (it edits a loop copy);
 * mobyts rewrites it, as the 070_volumes/006_mount_types test expects.
 */
import { MobyError } from '../util/errors.ts';
import type { ImageEntry, Mount, VolumeSpec } from '../spec/types.ts';

export const VOLUMES_DIR = '/containers/volumes';

export function volumeMergedDir(name: string): string {
  return `${VOLUMES_DIR}/${name}/merged`;
}

function volumeError(entry: ImageEntry, field: string, detail: string): MobyError {
  return new MobyError(
    `Cannot use a volume in container "${entry.name}" (image "${entry.image}"): ${field}: ${detail}`,
    {
      code: 'SPEC_INVALID',
      hint: 'declare the volume under volumes:, or write an absolute host path as the source',
    },
  );
}

function find(volumes: readonly VolumeSpec[], name: string): VolumeSpec | undefined {
  return volumes.find((v) => v.name === name);
}

function rewriteBind(bind: string, field: string, ctx: { entry: ImageEntry; volumes: readonly VolumeSpec[] }): string {
  const parts = bind.split(':');
  const source = parts[0] ?? '';
  if (source.startsWith('/')) return bind;
  const vol = find(ctx.volumes, source);
  if (vol === undefined) throw volumeError(ctx.entry, field, `volume "${source}" not found`);
  if (vol.readonly === true && parts[2] !== 'ro') {
    throw volumeError(
      ctx.entry,
      field,
      `volume "${source}" is read-only, but attempting to write into container read-write (bind it with the option "ro")`,
    );
  }
  return [volumeMergedDir(source), ...parts.slice(1)].join(':');
}

/** The first of `ro`/`rw` decides; neither means read-write. */
function mountIsReadOnly(m: Mount): boolean {
  return (m.options ?? []).find((o) => o === 'ro' || o === 'rw') === 'ro';
}

function rewriteMount(m: Mount, field: string, ctx: { entry: ImageEntry; volumes: readonly VolumeSpec[] }): Mount {
  const source = m.source ?? '';
  if (m.type !== 'bind' || source.startsWith('/')) return m;
  const vol = find(ctx.volumes, source);
  if (vol === undefined) throw volumeError(ctx.entry, field, `volume "${source}" not found`);
  if (vol.readonly === true && !mountIsReadOnly(m)) {
    throw volumeError(
      ctx.entry,
      field,
      `volume "${source}" is read-only, but attempting to write into container read-write (add the option "ro")`,
    );
  }
  return { ...m, source: volumeMergedDir(source) };
}

/**
 * The entry with volume names in `binds`, `binds.add` and bind `mounts` replaced by the volume's merged dir.
 * Pure: returns a new entry (the input is not modified). Throws SPEC_INVALID for an unknown or misused volume.
 */
export function rewriteVolumeRefs(entry: ImageEntry, volumes: readonly VolumeSpec[]): ImageEntry {
  const ctx = { entry, volumes };
  const out: ImageEntry = { ...entry };
  if (entry.binds != null) out.binds = entry.binds.map((b, i) => rewriteBind(b, `binds[${i}]`, ctx));
  if (entry['binds.add'] != null)
    out['binds.add'] = entry['binds.add'].map((b, i) => rewriteBind(b, `binds.add[${i}]`, ctx));
  if (entry.mounts != null) out.mounts = entry.mounts.map((m, i) => rewriteMount(m, `mounts[${i}]`, ctx));
  return out;
}
