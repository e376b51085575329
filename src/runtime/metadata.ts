/**
 * `files: [{metadata: yaml|json}]` (docs/linuxkit-behaviour.md#files): the merged spec as LinuxKit serialises its
 * `Moby` struct — yaml.v2 `Marshal` or `json.MarshalIndent(…, "", "    ")`. The caller passes the spec with image
 * references already expanded (LinuxKit's `UpdateImages`); this function does not expand them. Values LinuxKit
 * loses when decoding (`disableOOMKiller`, `hostID`, …; docs/linuxkit-behaviour.md#dropped-keys) are kept here, as in
 * config.json.
 */
import { marshalIndent } from '../go-compat/go-json.ts';
import { MOBY } from '../go-compat/go-schemas.ts';
import { marshalYamlV2 } from '../go-compat/yaml-v2.ts';
import type { MobySpec } from '../spec/types.ts';

export type MetadataKind = 'yaml' | 'json';

/** The exact bytes of a metadata file: yaml ends with a newline, json does not (as LinuxKit's). */
export function renderMetadata(spec: MobySpec, kind: MetadataKind): string {
  return kind === 'yaml' ? marshalYamlV2(spec, MOBY) : marshalIndent(spec, MOBY);
}
