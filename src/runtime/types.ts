/**
 * What this module produces: an OCI runtime-spec `config.json` (`RuntimeConfig`) and LinuxKit's `runtime.json`
 * (`RuntimeJson`), with runtime-spec's JSON names. Serialised by `go-compat/go-json.ts` with the structs of
 * `go-compat/go-schemas.ts`, so absent optional fields here are Go's nil/zero values there.
 */
import type { Interface, Mount, Resources } from '../spec/types.ts';

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface IdMappingOut {
  containerID?: number;
  hostID?: number;
  size?: number;
}

export interface Capabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface Rlimit {
  type: string;
  /** uint64: bigint when above 2^53 (unlimited = 18446744073709551615n). */
  hard: number | bigint;
  soft: number | bigint;
}

export interface OciProcess {
  user: { uid: number; gid: number; additionalGids?: number[] };
  args?: string[];
  env?: string[];
  cwd: string;
  capabilities: Capabilities;
  rlimits?: Rlimit[];
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
}

export interface LinuxDeviceOut {
  path: string;
  type: string;
  major: number;
  minor: number;
  fileMode: number;
}

export interface OciLinux {
  uidMappings?: IdMappingOut[];
  gidMappings?: IdMappingOut[];
  sysctl?: Record<string, string>;
  /** LinuxResources as the spec wrote it (any key spelling), device cgroup rules appended. */
  resources: Resources;
  cgroupsPath?: string;
  namespaces: { type: string; path?: string }[];
  devices?: LinuxDeviceOut[];
  rootfsPropagation?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
}

/** The OCI runtime config (`config.json`) of one container. */
export interface RuntimeConfig {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly?: boolean };
  hostname?: string;
  mounts: OciMount[];
  annotations?: Record<string, string>;
  linux: OciLinux;
}

/** LinuxKit's `runtime.json`: every key always present (docs/linuxkit-behaviour.md#runtime, #go-json). */
export interface RuntimeJson {
  cgroups: string[];
  mounts: Mount[];
  mkdir: string[];
  interfaces: Interface[];
  bindNS: Record<'cgroup' | 'ipc' | 'mnt' | 'net' | 'pid' | 'user' | 'uts', string>;
  namespace: string;
}

/** Container name → the uid/gid LinuxKit allots it (100, 101, … over onboot, onshutdown, services). */
export type IdMap = ReadonlyMap<string, number>;
