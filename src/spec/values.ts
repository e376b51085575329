/** Narrowing helpers for walking a spec value that may not match the schema (checks run even when it does not). */
export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function objAt(v: unknown, key: string): Obj | undefined {
  if (!isObj(v)) return undefined;
  const x = v[key];
  return isObj(x) ? x : undefined;
}

export function listAt(v: unknown, key: string): unknown[] {
  if (!isObj(v)) return [];
  const x = v[key];
  return Array.isArray(x) ? x : [];
}

export function strAt(v: unknown, key: string): string | undefined {
  if (!isObj(v)) return undefined;
  const x = v[key];
  return typeof x === 'string' ? x : undefined;
}

/** `[value, index]` pairs of the string items of a list field (non-strings are the schema's problem). */
export function stringItems(v: unknown, key: string): [string, number][] {
  return listAt(v, key).flatMap((x, i): [string, number][] => (typeof x === 'string' ? [[x, i]] : []));
}
