/**
 * `configToOCI`: one container entry + its image config → the OCI runtime config LinuxKit writes as
 * config.json (docs/linuxkit-behaviour.md#precedence to #other-fields; `moby/config.go: ConfigToOCI`). Pure.
 */
import { resolveCapabilities } from './capabilities.ts';
import { configError, pick, pickString, type ConfigContext, type Origin } from './context.ts';
import { convertDevices, type DeviceCgroupRule } from './devices.ts';
import { resolveId } from './ids.ts';
import { assembleMounts } from './mounts.ts';
import { parseRlimit } from './rlimits.ts';
import type { ContainerConfig } from '../oci/types.ts';
import type { IdRef, ImageConfigSpec, ImageEntry, Resources } from '../spec/types.ts';
import type { IdMap, OciLinux, OciProcess, RuntimeConfig } from './types.ts';

/** The runtime-spec version LinuxKit HEAD vendors; written as `ociVersion`. */
export const OCI_VERSION = '1.2.1';

/** The image side of a container: its OCI config object and its parsed `org.mobyproject.config` label. */
export interface ImageInput {
  readonly config: ContainerConfig;
  /** Parsed label (spec module's `parseMobyLabel`); absent when the image has none or it is empty. */
  readonly label?: ImageConfigSpec;
}

export interface ConfigOptions {
  readonly idMap: IdMap;
}

function ctxOf(entry: ImageEntry): ConfigContext {
  return { name: entry.name, image: entry.image };
}

function idOf(
  v: IdRef | undefined,
  where: { field: string; from: Origin },
  c: { ids: IdMap; ctx: ConfigContext },
): number {
  const r = resolveId(v, c.ids);
  if (typeof r === 'string') throw configError(c.ctx, where.field, r, where.from);
  return r;
}

function user(
  spec: ImageConfigSpec,
  label: ImageConfigSpec,
  c: { ids: IdMap; ctx: ConfigContext },
): OciProcess['user'] {
  const uid = pick(spec, label, 'uid');
  const gid = pick(spec, label, 'gid');
  const ag = pick(spec, label, 'additionalGids');
  const out: OciProcess['user'] = {
    uid: idOf(uid?.value, { field: 'uid', from: uid?.from ?? 'spec' }, c),
    gid: idOf(gid?.value, { field: 'gid', from: gid?.from ?? 'spec' }, c),
  };
  const groups = (ag?.value ?? []).map((g, i) =>
    idOf(g, { field: `additionalGids[${i}]`, from: ag?.from ?? 'spec' }, c),
  );
  if (groups.length > 0) out.additionalGids = groups;
  return out;
}

function rlimits(spec: ImageConfigSpec, label: ImageConfigSpec, ctx: ConfigContext): OciProcess['rlimits'] {
  const p = pick(spec, label, 'rlimits');
  return (p?.value ?? []).map((r, i) => parseRlimit(r, (d) => configError(ctx, `rlimits[${i}]`, d, p?.from ?? 'spec')));
}

function process(
  entry: ImageEntry,
  image: ImageInput,
  c: { label: ImageConfigSpec; ids: IdMap; ctx: ConfigContext },
): OciProcess {
  const { label, ctx } = c;
  const imageArgs = [...(image.config.Entrypoint ?? []), ...(image.config.Cmd ?? [])];
  const args = pick(entry, label, 'command')?.value ?? imageArgs;
  const env = pick(entry, label, 'env')?.value ?? image.config.Env ?? undefined;
  const cwd = pickString(entry, label, 'cwd') || image.config.WorkingDir || '/';
  const oomScoreAdj = pick(entry, label, 'oomScoreAdj')?.value;
  return {
    user: user(entry, label, { ids: c.ids, ctx }),
    args: [...args],
    ...(env === undefined ? {} : { env: [...env] }),
    cwd,
    capabilities: resolveCapabilities(entry, label, ctx),
    rlimits: rlimits(entry, label, ctx),
    noNewPrivileges: pick(entry, label, 'noNewPrivileges')?.value ?? false,
    ...(oomScoreAdj === undefined ? {} : { oomScoreAdj }),
  };
}

/** `net`: default host; `new`/`none` = new. `ipc`/`uts`/`userns`: default host. `pid`: default new. */
function namespaces(spec: ImageConfigSpec, label: ImageConfigSpec): OciLinux['namespaces'] {
  const out: OciLinux['namespaces'] = [];
  const add = (type: string, value: string, isNew: readonly string[]): void => {
    if (value === 'host' || value === 'root') return;
    out.push(isNew.includes(value) ? { type } : { type, path: value });
  };
  add('network', pickString(spec, label, 'net') || 'root', ['none', 'new']);
  add('ipc', pickString(spec, label, 'ipc') || 'root', ['new']);
  add('uts', pickString(spec, label, 'uts') || 'root', ['new']);
  add('pid', pickString(spec, label, 'pid'), ['new', '']);
  add('user', pickString(spec, label, 'userns') || 'root', ['new']);
  out.push({ type: 'mount' });
  return out;
}

/** The spec's resources with the device cgroup rules appended to `devices` (the input is not modified). */
function withDeviceRules(resources: Resources | undefined, rules: readonly DeviceCgroupRule[]): Resources {
  if (rules.length === 0) return { ...(resources ?? {}) };
  return { ...(resources ?? {}), devices: [...(resources?.devices ?? []), ...rules] };
}

function linux(spec: ImageConfigSpec, label: ImageConfigSpec, ctx: ConfigContext): OciLinux {
  const devs = pick(spec, label, 'devices');
  const converted = convertDevices(devs?.value ?? [], (i, d) =>
    configError(ctx, `devices[${i}]`, d, devs?.from ?? 'spec'),
  );
  return {
    uidMappings: pick(spec, label, 'uidMappings')?.value ?? [],
    gidMappings: pick(spec, label, 'gidMappings')?.value ?? [],
    sysctl: pick(spec, label, 'sysctl')?.value ?? {},
    resources: withDeviceRules(pick(spec, label, 'resources')?.value, converted.rules),
    cgroupsPath: pick(spec, label, 'cgroupsPath')?.value ?? '',
    namespaces: namespaces(spec, label),
    devices: converted.devices,
    rootfsPropagation: pick(spec, label, 'rootfsPropagation')?.value ?? '',
    maskedPaths: pick(spec, label, 'maskedPaths')?.value ?? [],
    readonlyPaths: pick(spec, label, 'readonlyPaths')?.value ?? [],
  };
}

/**
 * The OCI runtime config of one container. `entry` must already have volume names rewritten
 * (`rewriteVolumeRefs`). Precedence per field: spec entry, then the image label, then the image config, then
 * LinuxKit's defaults. Throws MobyError SPEC_INVALID (bad spec value) or IMAGE_CONFIG (bad label value) naming
 * the container, the image and the field.
 */
export function configToOCI(entry: ImageEntry, image: ImageInput, opts: ConfigOptions): RuntimeConfig {
  const label = image.label ?? {};
  const ctx = ctxOf(entry);
  const readonly = pick(entry, label, 'readonly')?.value ?? false;
  const hostname = pickString(entry, label, 'hostname');
  return {
    ociVersion: OCI_VERSION,
    process: process(entry, image, { label, ids: opts.idMap, ctx }),
    root: { path: 'rootfs', readonly },
    ...(hostname === '' ? {} : { hostname }),
    mounts: assembleMounts(entry, label, { readonly, ctx }),
    annotations: pick(entry, label, 'annotations')?.value ?? {},
    linux: linux(entry, label, ctx),
  };
}
