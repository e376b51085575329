/**
 * Capabilities (docs/linuxkit-behaviour.md#capabilities): `capabilities` replaces the label's list, `capabilities.add`
 * extends it, a single `all`/`none` (any case) expands; bounding = inheritable = permitted = the sorted union of caps
 * and ambient; effective = caps as given, duplicates kept (LinuxKit's "unique" merge never records what it saw).
 */
import { configError, type ConfigContext, type Origin } from './context.ts';
import type { ImageConfigSpec } from '../spec/types.ts';
import type { Capabilities } from './types.ts';
import { KNOWN_CAPABILITIES } from '../spec/capabilities.ts';

export { KNOWN_CAPABILITIES };
const KNOWN: ReadonlySet<string> = new Set(KNOWN_CAPABILITIES);

/** One capability list with, for each item, the field it came from (for error messages). */
interface Sourced {
  items: string[];
  origins: { field: string; from: Origin }[];
}

function sourced(list: readonly string[] | undefined, field: string, from: Origin): Sourced {
  const items = [...(list ?? [])];
  return { items, origins: items.map((_, i) => ({ field: `${field}[${i}]`, from })) };
}

function concat(a: Sourced, b: Sourced): Sourced {
  return { items: [...a.items, ...b.items], origins: [...a.origins, ...b.origins] };
}

/** caps = spec `capabilities` ?? (label `capabilities` ++ spec `capabilities.add`). */
function effectiveSource(spec: ImageConfigSpec, label: ImageConfigSpec): Sourced {
  if (spec.capabilities != null) return sourced(spec.capabilities, 'capabilities', 'spec');
  return concat(
    sourced(label.capabilities, 'capabilities', 'label'),
    sourced(spec['capabilities.add'], 'capabilities.add', 'spec'),
  );
}

function ambientSource(spec: ImageConfigSpec, label: ImageConfigSpec): Sourced {
  if (spec.ambient != null) return sourced(spec.ambient, 'ambient', 'spec');
  return sourced(label.ambient, 'ambient', 'label');
}

/** A lone `all` or `none` (any case) expands; anything else must be a known upper-case name. */
function expand(list: Sourced, ctx: ConfigContext): string[] {
  if (list.items.length === 1) {
    const only = (list.items[0] ?? '').toLowerCase();
    if (only === 'none') return [];
    if (only === 'all') return [...KNOWN_CAPABILITIES];
  }
  list.items.forEach((cap, i) => {
    if (KNOWN.has(cap)) return;
    const o = list.origins[i] ?? { field: 'capabilities', from: 'spec' as const };
    throw configError(ctx, o.field, `unknown capability "${cap}"${suggest(cap)}`, o.from);
  });
  return list.items;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(
        Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)),
      );
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** A likely intended name: the same name upper-cased or `CAP_`-prefixed, or one within two typos. */
export function suggestCapability(cap: string): string | undefined {
  const upper = cap.toUpperCase();
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (KNOWN.has(full)) return full;
  const near = KNOWN_CAPABILITIES.map((k) => ({ k, d: editDistance(full, k) })).filter((x) => x.d <= 2);
  near.sort((x, y) => x.d - y.d);
  return near[0]?.k;
}

function suggest(cap: string): string {
  const guess = suggestCapability(cap);
  return guess === undefined
    ? ' (capabilities are upper case with the CAP_ prefix, e.g. "CAP_NET_ADMIN")'
    : ` (did you mean "${guess}"?)`;
}

/** The process capabilities LinuxKit writes; empty lists are left for the serialiser to omit. */
export function resolveCapabilities(spec: ImageConfigSpec, label: ImageConfigSpec, ctx: ConfigContext): Capabilities {
  const effective = expand(effectiveSource(spec, label), ctx);
  const ambient = expand(ambientSource(spec, label), ctx);
  const bounding = [...new Set([...effective, ...ambient])].sort();
  return { bounding, effective, inheritable: bounding, permitted: bounding, ambient };
}
