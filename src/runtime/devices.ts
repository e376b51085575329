/**
 * `devices:` (docs/linuxkit-behaviour.md#devices): `path: all` allows a whole device type in the device cgroup; any
 * other entry becomes a `linux.devices` node (mode from an octal string) plus a cgroup rule for its major/minor.
 */
import type { Device } from '../spec/types.ts';
import type { LinuxDeviceOut } from './types.ts';

export interface DeviceCgroupRule {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

const INT32_MAX = 2 ** 31 - 1;

/**
 * Go's `strconv.ParseInt(mode, 8, 32)` then `os.FileMode(…)`: an optional sign and octal digits, within int32,
 * wrapped to uint32. A number (a label written `mode: 0666`, decoded as YAML 1.1) is taken as already decoded.
 */
export function parseDeviceMode(mode: string | number | undefined): number | undefined {
  if (typeof mode === 'number') return Number.isInteger(mode) ? mode >>> 0 : undefined;
  if (mode === undefined || !/^[+-]?[0-7]+$/.test(mode)) return undefined;
  const n = parseInt(mode, 8);
  return n > INT32_MAX || n < -INT32_MAX - 1 ? undefined : n >>> 0;
}

/** The devices and the cgroup rules to append to `resources.devices`; `report` names the failing entry. */
export function convertDevices(
  devices: readonly Device[],
  report: (index: number, detail: string) => Error,
): { devices: LinuxDeviceOut[]; rules: DeviceCgroupRule[] } {
  const out: LinuxDeviceOut[] = [];
  const rules: DeviceCgroupRule[] = [];
  devices.forEach((d, i) => {
    if (d.path === 'all') {
      rules.push({ allow: true, type: d.type, access: 'rwm' });
      return;
    }
    const fileMode = parseDeviceMode(d.mode);
    if (fileMode === undefined)
      throw report(
        i,
        `cannot parse device mode ${JSON.stringify(d.mode ?? '')} as octal value (write it quoted, e.g. mode: "0666")`,
      );
    const major = d.major ?? 0;
    const minor = d.minor ?? 0;
    out.push({ path: d.path, type: d.type, major, minor, fileMode });
    rules.push({ allow: true, type: d.type, major, minor, access: 'rwm' });
  });
  return { devices: out, rules };
}
