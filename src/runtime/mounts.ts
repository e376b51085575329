/**
 * config.json mounts (docs/linuxkit-behaviour.md#mounts): five Docker-like defaults, then `tmpfs`, then `binds`, then
 * `mounts`, keyed by destination (a later stage replaces an earlier mount entirely), sorted by destination bytes.
 */
import { configError, pick, type ConfigContext, type Origin } from './context.ts';
import type { ImageConfigSpec, Mount } from '../spec/types.ts';
import type { OciMount } from './types.ts';

function defaultMounts(readonly: boolean): OciMount[] {
  const ro = readonly ? ['ro'] : [];
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'nodev', 'noexec', 'relatime'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k', ...ro],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ...ro] },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
    },
  ];
}

/** `dst` or `dst:opt,opt`. */
export function parseTmpfs(t: string, report: (detail: string) => Error): OciMount {
  const parts = t.split(':');
  if (parts.length > 2) throw report(`cannot parse tmpfs "${t}": too many ':'`);
  const destination = parts[0] ?? '';
  const m: OciMount = { destination, type: 'tmpfs', source: 'tmpfs' };
  if (parts.length === 2) m.options = (parts[1] ?? '').split(',');
  return m;
}

/** `src:dst` (options rw,rbind,rshared) or `src:dst:opt,opt` (options opt,opt,rbind). */
export function parseBind(b: string, report: (detail: string) => Error): OciMount {
  const parts = b.split(':');
  if (parts.length < 2) throw report(`cannot parse bind "${b}": missing ':'`);
  if (parts.length > 3) throw report(`cannot parse bind "${b}": too many ':'`);
  const [source = '', destination = '', opts] = parts;
  const options = opts === undefined ? ['rw', 'rbind', 'rshared'] : [...opts.split(','), 'rbind'];
  return { destination, type: 'bind', source, options };
}

const TYPE_FROM_SOURCE = new Set(['mqueue', 'devpts', 'proc', 'sysfs', 'cgroup']);
const DEFAULT_DESTINATION: Record<string, string> = {
  proc: '/proc',
  devpts: '/dev/pts',
  sysfs: '/sys',
  cgroup: '/sys/fs/cgroup',
  mqueue: '/dev/mqueue',
};

/** A `mounts:` entry with LinuxKit's defaults for missing type, source and destination. */
export function completeMount(m: Mount, report: (detail: string) => Error): OciMount {
  let type = m.type ?? '';
  const source = m.source ?? '';
  let destination = m.destination ?? '';
  if (type === '' && TYPE_FROM_SOURCE.has(source)) type = source;
  if (type === '' && destination === '/dev') type = 'tmpfs';
  if (type === '') throw report(`mount for destination "${destination}" is missing type`);
  if (destination === '') destination = DEFAULT_DESTINATION[type] ?? '';
  if (destination === '') throw report(`mount of type "${type}" is missing destination`);
  const out: OciMount = { destination, type, source: source === '' ? type : source };
  if (m.options != null) out.options = [...m.options];
  return out;
}

/** binds = spec `binds` ?? (label `binds` ++ spec `binds.add`), duplicates kept. */
function bindList(spec: ImageConfigSpec, label: ImageConfigSpec): { value: string; field: string; from: Origin }[] {
  if (spec.binds != null) return spec.binds.map((value, i) => ({ value, field: `binds[${i}]`, from: 'spec' }));
  const fromLabel = (label.binds ?? []).map((value, i) => ({ value, field: `binds[${i}]`, from: 'label' as const }));
  const added = (spec['binds.add'] ?? []).map((value, i) => ({
    value,
    field: `binds.add[${i}]`,
    from: 'spec' as const,
  }));
  return [...fromLabel, ...added];
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The sorted mount list of config.json. */
export function assembleMounts(
  spec: ImageConfigSpec,
  label: ImageConfigSpec,
  opts: { readonly: boolean; ctx: ConfigContext },
): OciMount[] {
  const byDest = new Map<string, OciMount>();
  const put = (m: OciMount): void => void byDest.set(m.destination, m);
  const at =
    (field: string, from: Origin) =>
    (detail: string): Error =>
      configError(opts.ctx, field, detail, from);
  defaultMounts(opts.readonly).forEach(put);
  const tmpfs = pick(spec, label, 'tmpfs');
  tmpfs?.value.forEach((t, i) => put(parseTmpfs(t, at(`tmpfs[${i}]`, tmpfs.from))));
  for (const b of bindList(spec, label)) put(parseBind(b.value, at(b.field, b.from)));
  const mounts = pick(spec, label, 'mounts');
  mounts?.value.forEach((m, i) => put(completeMount(m, at(`mounts[${i}]`, mounts.from))));
  return [...byDest.values()].sort((a, b) => compareBytes(a.destination, b.destination));
}
