/**
 * The Go structs whose serialisations mobyts reproduces: opencontainers/runtime-spec v1.2.1 `specs-go`
 * (config.json) and LinuxKit's `moby` package structs (runtime.json, `files: metadata`). Field order and tags
 * follow the Go declarations; yaml tags are given only where they differ from the default (yaml.v2 uses the
 * lower-cased Go field name when a struct has no yaml tag, which is the case for every runtime-spec struct).
 */
import {
  ANY,
  BOOL,
  field,
  INT,
  map,
  ptr,
  slice,
  STRING,
  struct,
  type GoField,
  type GoTag,
  type GoType,
} from './go-type.ts';

const o = (name: string): GoTag => ({ name, omitempty: true });
const n = (name: string): GoTag => ({ name });

// ---- runtime-spec v1.2.1 (only yaml.v2's default key naming applies to these) ----

export const ID_MAPPING = struct([
  field('ContainerID', INT, n('containerID')),
  field('HostID', INT, n('hostID')),
  field('Size', INT, n('size')),
]);

export const MOUNT = struct([
  field('Destination', STRING, n('destination')),
  field('Type', STRING, o('type')),
  field('Source', STRING, o('source')),
  field('Options', slice(STRING), o('options')),
  field('UIDMappings', slice(ID_MAPPING), o('uidMappings')),
  field('GIDMappings', slice(ID_MAPPING), o('gidMappings')),
]);

const DEVICE_CGROUP = struct([
  field('Allow', BOOL, n('allow')),
  field('Type', STRING, o('type')),
  field('Major', ptr(INT), o('major')),
  field('Minor', ptr(INT), o('minor')),
  field('Access', STRING, o('access')),
]);

const MEMORY = struct([
  field('Limit', ptr(INT), o('limit')),
  field('Reservation', ptr(INT), o('reservation')),
  field('Swap', ptr(INT), o('swap')),
  field('Kernel', ptr(INT), o('kernel')),
  field('KernelTCP', ptr(INT), o('kernelTCP')),
  field('Swappiness', ptr(INT), o('swappiness')),
  field('DisableOOMKiller', ptr(BOOL), o('disableOOMKiller')),
  field('UseHierarchy', ptr(BOOL), o('useHierarchy')),
  field('CheckBeforeUpdate', ptr(BOOL), o('checkBeforeUpdate')),
]);

const CPU = struct([
  field('Shares', ptr(INT), o('shares')),
  field('Quota', ptr(INT), o('quota')),
  field('Burst', ptr(INT), o('burst')),
  field('Period', ptr(INT), o('period')),
  field('RealtimeRuntime', ptr(INT), o('realtimeRuntime')),
  field('RealtimePeriod', ptr(INT), o('realtimePeriod')),
  field('Cpus', STRING, o('cpus')),
  field('Mems', STRING, o('mems')),
  field('Idle', ptr(INT), o('idle')),
]);

const PIDS = struct([field('Limit', INT, n('limit'))]);

/** The unexported embedded `linuxBlockIODevice`: json promotes its fields; yaml.v2 nests it. */
const BLOCKIO_DEVICE: GoField = {
  go: 'linuxBlockIODevice',
  type: struct([field('Major', INT, n('major')), field('Minor', INT, n('minor'))]),
  json: { inline: true },
};

const WEIGHT_DEVICE = struct([
  BLOCKIO_DEVICE,
  field('Weight', ptr(INT), o('weight')),
  field('LeafWeight', ptr(INT), o('leafWeight')),
]);

const THROTTLE_DEVICE = struct([BLOCKIO_DEVICE, field('Rate', INT, n('rate'))]);

const BLOCKIO = struct([
  field('Weight', ptr(INT), o('weight')),
  field('LeafWeight', ptr(INT), o('leafWeight')),
  field('WeightDevice', slice(WEIGHT_DEVICE), o('weightDevice')),
  field('ThrottleReadBpsDevice', slice(THROTTLE_DEVICE), o('throttleReadBpsDevice')),
  field('ThrottleWriteBpsDevice', slice(THROTTLE_DEVICE), o('throttleWriteBpsDevice')),
  field('ThrottleReadIOPSDevice', slice(THROTTLE_DEVICE), o('throttleReadIOPSDevice')),
  field('ThrottleWriteIOPSDevice', slice(THROTTLE_DEVICE), o('throttleWriteIOPSDevice')),
]);

const HUGEPAGE_LIMIT = struct([field('Pagesize', STRING, n('pageSize')), field('Limit', INT, n('limit'))]);

const NETWORK = struct([
  field('ClassID', ptr(INT), o('classID')),
  field(
    'Priorities',
    slice(struct([field('Name', STRING, n('name')), field('Priority', INT, n('priority'))])),
    o('priorities'),
  ),
]);

const RDMA = struct([field('HcaHandles', ptr(INT), o('hcaHandles')), field('HcaObjects', ptr(INT), o('hcaObjects'))]);

export const RESOURCES = struct([
  field('Devices', slice(DEVICE_CGROUP), o('devices')),
  field('Memory', ptr(MEMORY), o('memory')),
  field('CPU', ptr(CPU), o('cpu')),
  field('Pids', ptr(PIDS), o('pids')),
  field('BlockIO', ptr(BLOCKIO), o('blockIO')),
  field('HugepageLimits', slice(HUGEPAGE_LIMIT), o('hugepageLimits')),
  field('Network', ptr(NETWORK), o('network')),
  field('Rdma', map(RDMA), o('rdma')),
  field('Unified', map(STRING), o('unified')),
]);

const CAPABILITIES = struct([
  field('Bounding', slice(STRING), o('bounding')),
  field('Effective', slice(STRING), o('effective')),
  field('Inheritable', slice(STRING), o('inheritable')),
  field('Permitted', slice(STRING), o('permitted')),
  field('Ambient', slice(STRING), o('ambient')),
]);

const PROCESS = struct([
  field('Terminal', BOOL, o('terminal')),
  field(
    'User',
    struct([
      field('UID', INT, n('uid')),
      field('GID', INT, n('gid')),
      field('Umask', ptr(INT), o('umask')),
      field('AdditionalGids', slice(INT), o('additionalGids')),
    ]),
    n('user'),
  ),
  field('Args', slice(STRING), o('args')),
  field('Env', slice(STRING), o('env')),
  field('Cwd', STRING, n('cwd')),
  field('Capabilities', ptr(CAPABILITIES), o('capabilities')),
  field(
    'Rlimits',
    slice(struct([field('Type', STRING, n('type')), field('Hard', INT, n('hard')), field('Soft', INT, n('soft'))])),
    o('rlimits'),
  ),
  field('NoNewPrivileges', BOOL, o('noNewPrivileges')),
  field('OOMScoreAdj', ptr(INT), o('oomScoreAdj')),
]);

const LINUX_DEVICE = struct([
  field('Path', STRING, n('path')),
  field('Type', STRING, n('type')),
  field('Major', INT, n('major')),
  field('Minor', INT, n('minor')),
  field('FileMode', ptr(INT), o('fileMode')),
  field('UID', ptr(INT), o('uid')),
  field('GID', ptr(INT), o('gid')),
]);

const LINUX = struct([
  field('UIDMappings', slice(ID_MAPPING), o('uidMappings')),
  field('GIDMappings', slice(ID_MAPPING), o('gidMappings')),
  field('Sysctl', map(STRING), o('sysctl')),
  field('Resources', ptr(RESOURCES), o('resources')),
  field('CgroupsPath', STRING, o('cgroupsPath')),
  field(
    'Namespaces',
    slice(struct([field('Type', STRING, n('type')), field('Path', STRING, o('path'))])),
    o('namespaces'),
  ),
  field('Devices', slice(LINUX_DEVICE), o('devices')),
  field('RootfsPropagation', STRING, o('rootfsPropagation')),
  field('MaskedPaths', slice(STRING), o('maskedPaths')),
  field('ReadonlyPaths', slice(STRING), o('readonlyPaths')),
]);

/** runtime-spec `Spec` (the fields LinuxKit can set). */
export const SPEC = struct([
  field('Version', STRING, n('ociVersion')),
  field('Process', ptr(PROCESS), o('process')),
  field('Root', ptr(struct([field('Path', STRING, n('path')), field('Readonly', BOOL, o('readonly'))])), o('root')),
  field('Hostname', STRING, o('hostname')),
  field('Mounts', slice(MOUNT), o('mounts')),
  field('Annotations', map(STRING), o('annotations')),
  field('Linux', ptr(LINUX), o('linux')),
]);

// ---- LinuxKit's moby structs (yaml and json tags are identical in LinuxKit) ----

/** A field whose yaml and json tag are the same `name[,omitempty]`, read from JS property `name`. */
function lk(go: string, type: GoType, name: string, omitempty = true): GoField {
  const tag = { name, omitempty };
  return { go, type, json: tag, yaml: tag, key: name };
}

const NAMESPACES = struct(
  ['Cgroup', 'Ipc', 'Mnt', 'Net', 'Pid', 'User', 'Uts'].map((g) => lk(g, ptr(STRING), g.toLowerCase())),
);

const INTERFACE = struct([
  lk('Name', STRING, 'name'),
  lk('Add', STRING, 'add'),
  lk('Peer', STRING, 'peer'),
  lk('CreateInRoot', BOOL, 'createInRoot', false),
]);

/** LinuxKit `Runtime`: runtime.json, and the `runtime:` key of an entry. */
export const RUNTIME = struct([
  lk('Cgroups', ptr(slice(STRING)), 'cgroups'),
  lk('Mounts', ptr(slice(MOUNT)), 'mounts'),
  lk('Mkdir', ptr(slice(STRING)), 'mkdir'),
  lk('Interfaces', ptr(slice(INTERFACE)), 'interfaces'),
  lk('BindNS', NAMESPACES, 'bindNS'),
  lk('Namespace', ptr(STRING), 'namespace'),
]);

const DEVICE = struct([
  lk('Path', STRING, 'path', false),
  lk('Type', STRING, 'type', false),
  lk('Major', INT, 'major', false),
  lk('Minor', INT, 'minor', false),
  lk('Mode', STRING, 'mode'),
]);

const strings = ptr(slice(STRING));

const IMAGE_CONFIG_FIELDS: GoField[] = [
  lk('Capabilities', strings, 'capabilities'),
  lk('CapabilitiesAdd', strings, 'capabilities.add'),
  lk('Ambient', strings, 'ambient'),
  lk('Mounts', ptr(slice(MOUNT)), 'mounts'),
  lk('Binds', strings, 'binds'),
  lk('BindsAdd', strings, 'binds.add'),
  lk('Devices', ptr(slice(DEVICE)), 'devices'),
  lk('Tmpfs', strings, 'tmpfs'),
  lk('Command', strings, 'command'),
  lk('Env', strings, 'env'),
  lk('Cwd', STRING, 'cwd'),
  lk('Net', STRING, 'net'),
  lk('Pid', STRING, 'pid'),
  lk('Ipc', STRING, 'ipc'),
  lk('Uts', STRING, 'uts'),
  lk('Userns', STRING, 'userns'),
  lk('Hostname', STRING, 'hostname'),
  lk('Readonly', ptr(BOOL), 'readonly'),
  lk('MaskedPaths', strings, 'maskedPaths'),
  lk('ReadonlyPaths', strings, 'readonlyPaths'),
  lk('UID', ptr(ANY), 'uid'),
  lk('GID', ptr(ANY), 'gid'),
  lk('AdditionalGids', ptr(slice(ANY)), 'additionalGids'),
  lk('NoNewPrivileges', ptr(BOOL), 'noNewPrivileges'),
  lk('OOMScoreAdj', ptr(INT), 'oomScoreAdj'),
  lk('RootfsPropagation', ptr(STRING), 'rootfsPropagation'),
  lk('CgroupsPath', ptr(STRING), 'cgroupsPath'),
  lk('Resources', ptr(RESOURCES), 'resources'),
  lk('Sysctl', ptr(map(STRING)), 'sysctl'),
  lk('Rlimits', strings, 'rlimits'),
  lk('UIDMappings', ptr(slice(ID_MAPPING)), 'uidMappings'),
  lk('GIDMappings', ptr(slice(ID_MAPPING)), 'gidMappings'),
  lk('Annotations', ptr(map(STRING)), 'annotations'),
  lk('Runtime', ptr(RUNTIME), 'runtime'),
];

const IMAGE = struct([
  lk('Name', STRING, 'name', false),
  lk('Image', STRING, 'image', false),
  { go: 'ImageConfig', type: struct(IMAGE_CONFIG_FIELDS), json: { inline: true }, yaml: { inline: true } },
]);

const FILE = struct([
  lk('Path', STRING, 'path', false),
  lk('Directory', BOOL, 'directory', false),
  lk('Symlink', STRING, 'symlink'),
  lk('Contents', ptr(STRING), 'contents'),
  lk('Source', STRING, 'source'),
  lk('Metadata', STRING, 'metadata'),
  lk('Optional', BOOL, 'optional', false),
  lk('Mode', STRING, 'mode'),
  lk('UID', ANY, 'uid'),
  lk('GID', ANY, 'gid'),
]);

const VOLUME = struct([
  lk('Name', STRING, 'name', false),
  lk('Image', STRING, 'image'),
  lk('ReadOnly', BOOL, 'readonly'),
  lk('Format', STRING, 'format'),
  lk('Platforms', slice(STRING), 'platforms'),
]);

const KERNEL = struct([
  lk('Image', STRING, 'image', false),
  lk('Cmdline', STRING, 'cmdline'),
  lk('Binary', STRING, 'binary'),
  lk('Tar', ptr(STRING), 'tar'),
  lk('UCode', ptr(STRING), 'ucode'),
]);

/**
 * LinuxKit `Moby`. Its `Kernel` and `Init` fields carry misspelt tags (`kernel:"…"`, `init:"…"`), so yaml.v2
 * uses the default key without omitempty; json has `kernel,omitempty` (never omits a struct) and `init`.
 */
export const MOBY = struct([
  { go: 'Kernel', type: KERNEL, json: { name: 'kernel', omitempty: true }, key: 'kernel' },
  { go: 'Init', type: slice(STRING), json: { name: 'init' }, key: 'init' },
  lk('Onboot', slice(IMAGE), 'onboot', false),
  lk('Onshutdown', slice(IMAGE), 'onshutdown', false),
  lk('Services', slice(IMAGE), 'services', false),
  lk('Files', slice(FILE), 'files', false),
  lk('Volumes', slice(VOLUME), 'volumes', false),
]);
