// Fails when src/spec/types.ts and schema/moby.schema.json drift apart: each key list below must name every
// key of its TypeScript type (checked by the compiler) and every property of its schema definition (checked
// here at run time), and every schema definition with properties must have a row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allFormats } from '../outputs/index.ts';
import { mobySchema, schemaProperties } from './schema.ts';
import type {
  BlockIO,
  CpuResources,
  Device,
  DeviceCgroup,
  FileSpec,
  HugepageLimit,
  IdMapping,
  ImageConfigSpec,
  ImageEntry,
  Interface,
  InterfacePriority,
  KernelSpec,
  MemoryResources,
  MobySpec,
  Mount,
  Namespaces,
  NetworkResources,
  OutputSpec,
  Resources,
  RuntimeSpec,
  ThrottleDevice,
  TrustSpec,
  VolumeSpec,
  WeightDevice,
} from './types.ts';

type Missing<T, L extends readonly PropertyKey[]> = Exclude<keyof T, L[number]>;

/**
 * Compiles only when `keys` lists every key of T: a missing key makes the call need a second argument
 * (`Expected 2 arguments`, the parameter type names the missing keys); an unknown key is a type error.
 */
function allKeys<T>() {
  return <const L extends readonly (keyof T)[]>(
    keys: L,
    ..._missing: [Missing<T, L>] extends [never] ? [] : [missing: Missing<T, L>]
  ): readonly string[] => keys.map(String);
}

const ROWS: [definition: string | undefined, keys: readonly string[]][] = [
  [
    undefined,
    allKeys<MobySpec>()(['kernel', 'init', 'onboot', 'onshutdown', 'services', 'files', 'volumes', 'trust', 'outputs']),
  ],
  ['kernel', allKeys<KernelSpec>()(['image', 'cmdline', 'binary', 'tar', 'ucode'])],
  [
    'image',
    allKeys<ImageEntry>()([
      'name',
      'image',
      'capabilities',
      'capabilities.add',
      'ambient',
      'mounts',
      'binds',
      'binds.add',
      'tmpfs',
      'command',
      'env',
      'cwd',
      'net',
      'pid',
      'ipc',
      'uts',
      'userns',
      'hostname',
      'readonly',
      'maskedPaths',
      'readonlyPaths',
      'uid',
      'gid',
      'additionalGids',
      'noNewPrivileges',
      'oomScoreAdj',
      'rootfsPropagation',
      'cgroupsPath',
      'resources',
      'sysctl',
      'rlimits',
      'uidMappings',
      'gidMappings',
      'annotations',
      'devices',
      'runtime',
    ]),
  ],
  [
    'file',
    allKeys<FileSpec>()([
      'path',
      'directory',
      'symlink',
      'contents',
      'source',
      'optional',
      'metadata',
      'mode',
      'uid',
      'gid',
    ]),
  ],
  ['volume', allKeys<VolumeSpec>()(['name', 'image', 'readonly', 'format', 'platforms'])],
  ['trust', allKeys<TrustSpec>()(['image', 'org'])],
  ['output', allKeys<OutputSpec>()(['format'])],
  ['mount', allKeys<Mount>()(['destination', 'type', 'source', 'options', 'uidmappings', 'gidmappings'])],
  ['device', allKeys<Device>()(['path', 'type', 'major', 'minor', 'mode'])],
  ['idmapping', allKeys<IdMapping>()(['containerID', 'hostID', 'size'])],
  ['runtime', allKeys<RuntimeSpec>()(['cgroups', 'mounts', 'mkdir', 'interfaces', 'bindNS', 'namespace'])],
  ['interface', allKeys<Interface>()(['name', 'add', 'peer', 'createInRoot'])],
  ['namespaces', allKeys<Namespaces>()(['cgroup', 'ipc', 'mnt', 'net', 'pid', 'user', 'uts'])],
  ['resources', allKeys<Resources>()(['devices', 'memory', 'cpu', 'pids', 'blockio', 'hugepageLimits', 'network'])],
  ['devicecgroup', allKeys<DeviceCgroup>()(['allow', 'type', 'major', 'minor', 'access'])],
  [
    'memory',
    allKeys<MemoryResources>()([
      'limit',
      'reservation',
      'swap',
      'kernel',
      'kernelTCP',
      'swappiness',
      'disableOOMKiller',
    ]),
  ],
  ['cpu', allKeys<CpuResources>()(['shares', 'quota', 'period', 'realtimeRuntime', 'realtimePeriod', 'cpus', 'mems'])],
  ['pids', allKeys<NonNullable<Resources['pids']>>()(['limit'])],
  [
    'blockio',
    allKeys<BlockIO>()([
      'weight',
      'leafWeight',
      'weightDevice',
      'throttleReadBpsDevice',
      'throttleWriteBpsDevice',
      'throttleReadIOPSDevice',
      'throttleWriteIOPSDevice',
    ]),
  ],
  ['weightdevice', allKeys<WeightDevice>()(['major', 'minor', 'weight', 'leafWeight'])],
  ['throttledevice', allKeys<ThrottleDevice>()(['major', 'minor', 'rate'])],
  ['hugepagelimit', allKeys<HugepageLimit>()(['pageSize', 'limit'])],
  ['interfacepriority', allKeys<InterfacePriority>()(['name', 'priority'])],
  ['network', allKeys<NetworkResources>()(['classID', 'priorities'])],
];

const sorted = (xs: readonly string[]): string[] => [...xs].sort();

for (const [definition, keys] of ROWS) {
  void test(`type keys match schema ${definition ?? '(root)'} properties`, () => {
    assert.deepEqual(sorted(keys), sorted(schemaProperties(definition)));
  });
}

void test('every schema definition with properties has a TypeScript type row', () => {
  const defs = mobySchema['definitions'] as Record<string, { properties?: object }>;
  const withProps = Object.keys(defs).filter((d) => defs[d]?.properties !== undefined);
  assert.deepEqual(sorted(withProps), sorted(ROWS.flatMap(([d]) => (d === undefined ? [] : [d]))));
});

void test('ImageConfigSpec (the label) is the image entry without name and image', () => {
  const label = allKeys<ImageConfigSpec>()([
    'capabilities',
    'capabilities.add',
    'ambient',
    'mounts',
    'binds',
    'binds.add',
    'tmpfs',
    'command',
    'env',
    'cwd',
    'net',
    'pid',
    'ipc',
    'uts',
    'userns',
    'hostname',
    'readonly',
    'maskedPaths',
    'readonlyPaths',
    'uid',
    'gid',
    'additionalGids',
    'noNewPrivileges',
    'oomScoreAdj',
    'rootfsPropagation',
    'cgroupsPath',
    'resources',
    'sysctl',
    'rlimits',
    'uidMappings',
    'gidMappings',
    'annotations',
    'devices',
    'runtime',
  ]);
  assert.deepEqual(sorted(label), sorted(schemaProperties('image').filter((k) => k !== 'name' && k !== 'image')));
});

void test("the outputs[].format enum is exactly the format table's names, in order", () => {
  const defs = mobySchema['definitions'] as Record<string, { properties: Record<string, { enum?: string[] }> }>;
  assert.deepEqual(
    defs['output']?.properties['format']?.enum,
    allFormats().map((f) => f.name),
  );
});
