/**
 * LinuxKit's `runtime.json` content (docs/linuxkit-behaviour.md#runtime): each of cgroups, mounts, mkdir, interfaces,
 * namespace and each bindNS key is taken from the spec entry if present, else from the image label, else empty.
 */
import type { ImageConfigSpec, Namespaces, RuntimeSpec } from '../spec/types.ts';
import type { RuntimeJson } from './types.ts';

const BIND_NS = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'user', 'uts'] as const;

function first<T>(a: T | null | undefined, b: T | null | undefined, fallback: T): T {
  if (a !== undefined && a !== null) return a;
  if (b !== undefined && b !== null) return b;
  return fallback;
}

/** The runtime.json object before the bundle's rootfs mounts are prepended. */
export function mergeRuntime(spec: ImageConfigSpec, label: ImageConfigSpec): RuntimeJson {
  const s: RuntimeSpec = spec.runtime ?? {};
  const l: RuntimeSpec = label.runtime ?? {};
  const sb: Namespaces = s.bindNS ?? {};
  const lb: Namespaces = l.bindNS ?? {};
  const bindNS = Object.fromEntries(BIND_NS.map((k) => [k, first(sb[k], lb[k], '')])) as RuntimeJson['bindNS'];
  return {
    cgroups: [...first(s.cgroups, l.cgroups, [])],
    mounts: [...first(s.mounts, l.mounts, [])],
    mkdir: [...first(s.mkdir, l.mkdir, [])],
    interfaces: [...first(s.interfaces, l.interfaces, [])],
    bindNS,
    namespace: first(s.namespace, l.namespace, ''),
  };
}
