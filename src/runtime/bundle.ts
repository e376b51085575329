/**
 * The OCI bundle of one container in the OS image (docs/linuxkit-behaviour.md#bundles, `build/image.go: ImageBundle`):
 * `containers/<section>/<dir>` with `config.json`, `runtime.json`, and the image either in `rootfs/`
 * (readonly) or in `lower/` under an overlay with a tmpfs upper. Pure: returns paths and bytes; the assembly
 * writes the tar entries.
 */
import { configToOCI, type ConfigOptions, type ImageInput } from './config.ts';
import { marshalIndent } from '../go-compat/go-json.ts';
import { RUNTIME, SPEC } from '../go-compat/go-schemas.ts';
import { mergeRuntime } from './runtime-json.ts';
import { rewriteVolumeRefs } from './volumes.ts';
import type { ContainerSection, ImageEntry, Mount, VolumeSpec } from '../spec/types.ts';
import type { RuntimeConfig, RuntimeJson } from './types.ts';

/** Directory of a container: `containers/onboot/000-name`, `containers/services/name` (no leading `/`). */
export function bundlePath(section: ContainerSection, index: number, name: string): string {
  const prefix = section === 'services' ? '' : `${String(index).padStart(3, '0')}-`;
  return `containers/${section}/${prefix}${name}`;
}

/** Where the image filesystem of a bundle goes: `rootfs` when readonly, else `lower` (overlay lower dir). */
export function extractDir(path: string, readonly: boolean): string {
  return `${path}/${readonly ? 'rootfs' : 'lower'}`;
}

/**
 * The mounts runtime.json starts with. `root` is the directory holding the image files: this bundle's own
 * `extractDir`, or, when the same image was already extracted for an earlier container, that one's.
 */
export function rootfsMounts(path: string, readonly: boolean, root: string): Mount[] {
  if (readonly) return [{ destination: `/${path}/rootfs`, source: `/${root}`, options: ['bind'] }];
  const tmp = `/${path}/tmp`;
  return [
    { destination: tmp, type: 'tmpfs', source: 'tmpfs' },
    { destination: tmp, options: ['remount', 'private'] },
    {
      destination: `/${path}/rootfs`,
      type: 'overlay',
      source: 'overlay',
      options: [`lowerdir=/${root}`, `upperdir=${tmp}/upper`, `workdir=${tmp}/work`],
    },
  ];
}

export interface BundleOptions extends ConfigOptions {
  readonly section: ContainerSection;
  /** Index of the entry in its section (the `%03d-` prefix of onboot/onshutdown). */
  readonly index: number;
  /**
   * The `extractDir` of the first container using the same expanded image reference, when this is not the
   * first: the image is then not extracted again and the rootfs mounts point there (LinuxKit's dupMap).
   */
  readonly sharedRoot?: string;
  /** The spec's volumes; bind sources naming one are rewritten to its merged dir (default: none declared). */
  readonly volumes?: readonly VolumeSpec[];
}

export interface Bundle {
  /** `containers/<section>/<dir>`, no leading slash. */
  readonly path: string;
  readonly readonly: boolean;
  /**
   * Where to extract the image (`<path>/rootfs` or `<path>/lower`); undefined when `sharedRoot` was given.
   * The tar still needs the mount points: `rootfs/` for a readonly bundle whose image is shared, and `tmp/` +
   * `rootfs/` for every non-readonly bundle (docs/linuxkit-behaviour.md#bundles).
   */
  readonly extractTo: string | undefined;
  /** The directory the rootfs mounts read the image from (this bundle's extractTo, or sharedRoot). */
  readonly root: string;
  readonly config: RuntimeConfig;
  readonly runtime: RuntimeJson;
  /** Exact file contents, no trailing newline, as LinuxKit writes them. */
  readonly configJson: string;
  readonly runtimeJson: string;
}

/** Serialises a RuntimeConfig exactly as LinuxKit's `json.MarshalIndent` of runtime-spec's `Spec`. */
export function serializeConfig(config: RuntimeConfig): string {
  return marshalIndent(config, SPEC);
}

/** Serialises runtime.json exactly as LinuxKit's `json.MarshalIndent` of its `Runtime` struct. */
export function serializeRuntime(runtime: RuntimeJson): string {
  return marshalIndent(runtime, RUNTIME);
}

/**
 * Everything the assembly needs for one container: paths, the two JSON files' bytes, and where the image
 * goes. Volume names in the entry's binds/mounts are rewritten first (`rewriteVolumeRefs`). Throws what
 * `rewriteVolumeRefs` and `configToOCI` throw (MobyError SPEC_INVALID / IMAGE_CONFIG).
 */
export function bundleFiles(spec: ImageEntry, image: ImageInput, opts: BundleOptions): Bundle {
  const entry = rewriteVolumeRefs(spec, opts.volumes ?? []);
  const config = configToOCI(entry, image, opts);
  const readonly = config.root.readonly === true;
  const path = bundlePath(opts.section, opts.index, entry.name);
  const own = extractDir(path, readonly);
  const root = opts.sharedRoot ?? own;
  const merged = mergeRuntime(entry, image.label ?? {});
  const runtime: RuntimeJson = { ...merged, mounts: [...rootfsMounts(path, readonly, root), ...merged.mounts] };
  return {
    path,
    readonly,
    extractTo: opts.sharedRoot === undefined ? own : undefined,
    root,
    config,
    runtime,
    configJson: serializeConfig(config),
    runtimeJson: serializeRuntime(runtime),
  };
}
