/**
 * uid/gid by container name (docs/linuxkit-behaviour.md#ids): every onboot, onshutdown and services entry, in that
 * order, gets 100, 101, …; a repeated name takes the later number but every entry still consumes one.
 */
import { CONTAINER_SECTIONS, type IdRef, type MobySpec } from '../spec/types.ts';
import type { IdMap } from './types.ts';

const FIRST_ID = 100;

/** The id map LinuxKit's `Build` makes for a (merged) spec. */
export function buildIdMap(spec: MobySpec): IdMap {
  const ids = new Map<string, number>();
  let next = FIRST_ID;
  for (const section of CONTAINER_SECTIONS) {
    for (const entry of spec[section] ?? []) ids.set(entry.name, next++);
  }
  return ids;
}

/**
 * A numeric id from a `uid`/`gid`/`additionalGids` value: an integer (wrapped to uint32 as Go does), `""`,
 * `root` or nil (0), or a container name. Returns an error detail string instead of throwing so the caller can
 * name the field. Numeric strings are names, as in LinuxKit.
 */
export function resolveId(v: IdRef | null | undefined, ids: IdMap): number | string {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') {
    return Number.isInteger(v) ? v >>> 0 : `"${v}" is not an integer`;
  }
  if (typeof v !== 'string') return 'bad type for uid or gid (want an integer or a container name)';
  if (v === '' || v === 'root') return 0;
  const id = ids.get(v);
  return id ?? `cannot find id: ${v} (no onboot, onshutdown or services entry has that name)`;
}
