/**
 * runtime/: pure conversion of a container entry + its image config into the exact `config.json` and
 * `runtime.json` LinuxKit writes (docs/linuxkit-behaviour.md#configs), and the `files: metadata` rendering
 * (docs/linuxkit-behaviour.md#files).
 *
 * Per container, the assembly calls
 *   `bundleFiles(entry, { config, label }, { idMap, section, index, sharedRoot, volumes })` — paths + bytes,
 *      volume names in binds/mounts rewritten to `/containers/volumes/<name>/merged`;
 *      `label` is `parseMobyLabel(config.Labels['org.mobyproject.config'], ref)` from spec/label.ts;
 *      `idMap` is `buildIdMap(spec)` once per build; `sharedRoot` is the `root` of the first bundle
 *      that used the same expanded image reference (undefined for the first one).
 */
export { bundleFiles, bundlePath, extractDir, rootfsMounts, serializeConfig, serializeRuntime } from './bundle.ts';
export type { Bundle, BundleOptions } from './bundle.ts';
export { configToOCI, OCI_VERSION } from './config.ts';
export type { ConfigOptions, ImageInput } from './config.ts';
export { KNOWN_CAPABILITIES } from './capabilities.ts';
export { buildIdMap, resolveId } from './ids.ts';
export { renderMetadata } from './metadata.ts';
export type { MetadataKind } from './metadata.ts';
export { rewriteVolumeRefs, volumeMergedDir } from './volumes.ts';
export { marshalIndent, goJsonString } from '../go-compat/go-json.ts';
export type { IdMap, RuntimeConfig, RuntimeJson } from './types.ts';
