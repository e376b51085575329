/**
 * The TypeScript shape of a moby/LinuxKit spec after parsing (docs/linuxkit-behaviour.md#spec). Hand-written to read
 * well; `types.test.ts` fails when it drifts from `schema/moby.schema.json` (the contract).
 * Field names are the YAML keys, including the camelCase OCI ones LinuxKit's schema advertises.
 */
import type { FormatName } from './format-names.ts';

export interface MobySpec {
  kernel?: KernelSpec;
  init?: string[];
  onboot?: ImageEntry[];
  onshutdown?: ImageEntry[];
  services?: ImageEntry[];
  files?: FileSpec[];
  volumes?: VolumeSpec[];
  trust?: TrustSpec;
  outputs?: OutputSpec[];
}

export interface KernelSpec {
  /** Not required by the schema, but the rules reject a kernel section without it, so a valid spec has it. */
  image: string;
  cmdline?: string;
  /** Kernel file name inside the image; default `kernel`. */
  binary?: string;
  /** Modules tarball name; default `kernel.tar`; `""` or `none` = none. */
  tar?: string;
  /** Microcode cpio name inside the image; default none. */
  ucode?: string;
}

/** uid/gid: a number, or the name of a container (resolved through the id map), or `""`/`root` (0). */
export type IdRef = number | string;

export interface Mount {
  destination?: string;
  type?: string;
  /** Host path, or (type bind) the name of a volume. */
  source?: string;
  options?: string[];
  /** Lower-case as in LinuxKit's schema (OCI idmapped mounts). */
  uidmappings?: IdMapping[];
  gidmappings?: IdMapping[];
}

export interface Device {
  /** A device path, or `all` (a cgroup rule only; then major/minor/mode are unused). */
  path: string;
  type: string;
  major?: number;
  minor?: number;
  /** Octal string, e.g. "0666". */
  mode?: string;
}

export interface Interface {
  name?: string;
  add?: string;
  peer?: string;
  createInRoot?: boolean;
}

export interface Namespaces {
  cgroup?: string;
  ipc?: string;
  mnt?: string;
  net?: string;
  pid?: string;
  user?: string;
  uts?: string;
}

export interface RuntimeSpec {
  cgroups?: string[];
  mounts?: Mount[];
  mkdir?: string[];
  interfaces?: Interface[];
  bindNS?: Namespaces;
  namespace?: string;
}

export interface IdMapping {
  containerID?: number;
  hostID?: number;
  size?: number;
}

/**
 * OCI LinuxResources as the YAML writes it (camelCase); see docs/linuxkit-behaviour.md#dropped-keys for keys LinuxKit
 * drops.
 */
export interface Resources {
  devices?: DeviceCgroup[];
  memory?: MemoryResources;
  cpu?: CpuResources;
  pids?: { limit?: number };
  blockio?: BlockIO;
  hugepageLimits?: HugepageLimit[];
  network?: NetworkResources;
}

export interface DeviceCgroup {
  allow?: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

export interface MemoryResources {
  limit?: number;
  reservation?: number;
  swap?: number;
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
}

export interface CpuResources {
  shares?: number;
  quota?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
}

export interface WeightDevice {
  major?: number;
  minor?: number;
  weight?: number;
  leafWeight?: number;
}

export interface ThrottleDevice {
  major?: number;
  minor?: number;
  rate?: number;
}

export interface BlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: WeightDevice[];
  throttleReadBpsDevice?: ThrottleDevice[];
  throttleWriteBpsDevice?: ThrottleDevice[];
  throttleReadIOPSDevice?: ThrottleDevice[];
  throttleWriteIOPSDevice?: ThrottleDevice[];
}

export interface HugepageLimit {
  pageSize?: number;
  limit?: number;
}

export interface InterfacePriority {
  name?: string;
  priority?: number;
}

export interface NetworkResources {
  classID?: number;
  priorities?: InterfacePriority[];
}

/** The per-container settings an image entry, or an image's `org.mobyproject.config` label, may give. */
export interface ImageConfigSpec {
  capabilities?: string[];
  'capabilities.add'?: string[];
  ambient?: string[];
  mounts?: Mount[];
  binds?: string[];
  'binds.add'?: string[];
  tmpfs?: string[];
  command?: string[];
  env?: string[];
  cwd?: string;
  net?: string;
  pid?: string;
  ipc?: string;
  uts?: string;
  userns?: string;
  hostname?: string;
  readonly?: boolean;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  uid?: IdRef;
  gid?: IdRef;
  additionalGids?: IdRef[];
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
  rootfsPropagation?: string;
  cgroupsPath?: string;
  resources?: Resources;
  sysctl?: Record<string, string>;
  rlimits?: string[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  annotations?: Record<string, string>;
  devices?: Device[];
  runtime?: RuntimeSpec;
}

/** An onboot / onshutdown / services entry. */
export interface ImageEntry extends ImageConfigSpec {
  name: string;
  image: string;
}

export interface FileSpec {
  /** Not required by the schema, but the rules reject an entry without it (`did not specify path for file`). */
  path: string;
  directory?: boolean;
  symlink?: string;
  contents?: string;
  source?: string;
  optional?: boolean;
  /** `yaml` or `json`: the merged spec rendered as LinuxKit renders it. */
  metadata?: 'yaml' | 'json';
  /** Octal string; default 0600 for files and symlinks, 0700 for directories. */
  mode?: string;
  uid?: IdRef;
  gid?: IdRef;
}

export interface VolumeSpec {
  name: string;
  image?: string;
  readonly?: boolean;
  format?: 'filesystem' | 'oci';
  platforms?: string[];
}

export interface TrustSpec {
  image?: string[];
  org?: string[];
}

export interface OutputSpec {
  format: FormatName;
}

/** The image-entry sections, in build order. */
export const CONTAINER_SECTIONS = ['onboot', 'onshutdown', 'services'] as const;
export type ContainerSection = (typeof CONTAINER_SECTIONS)[number];
