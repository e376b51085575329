/**
 * A description of Go types, enough to serialise plain JS data exactly as Go's `encoding/json` and
 * `gopkg.in/yaml.v2` serialise the Go structs LinuxKit uses (field order, tags, omitempty, nil vs empty).
 *
 * JS representation of a Go value of each kind:
 * - `string`/`bool`/`int`: the JS primitive (`int` also accepts bigint); missing means Go's zero value.
 * - `ptr`/`any`: `undefined` or `null` is nil; anything else is the pointed-to value.
 * - `slice`/`map`: `undefined` or `null` is nil; `[]`/`{}` is empty but not nil (this matters to Go).
 * - `struct`: an object; it is never nil (a missing struct is all zero values).
 */

export interface GoTag {
  /** Key name; default: the Go field name (json) or the lower-cased Go field name (yaml). */
  readonly name?: string;
  readonly omitempty?: boolean;
  /** yaml `,inline` or an untagged embedded struct in json: fields are promoted into the parent. */
  readonly inline?: boolean;
}

export interface GoField {
  /** Go field name. */
  readonly go: string;
  readonly type: GoType;
  readonly json?: GoTag;
  readonly yaml?: GoTag;
  /** JS property holding the value; default: the json name, then a case-insensitive match of the Go name. */
  readonly key?: string;
}

export type GoType =
  | { readonly kind: 'string' | 'bool' | 'int' | 'any' }
  | { readonly kind: 'ptr' | 'slice' | 'map'; readonly elem: GoType }
  | { readonly kind: 'struct'; readonly fields: readonly GoField[] };

export const STRING: GoType = { kind: 'string' };
export const BOOL: GoType = { kind: 'bool' };
export const INT: GoType = { kind: 'int' };
export const ANY: GoType = { kind: 'any' };
export const ptr = (elem: GoType): GoType => ({ kind: 'ptr', elem });
export const slice = (elem: GoType): GoType => ({ kind: 'slice', elem });
export const map = (elem: GoType): GoType => ({ kind: 'map', elem });
export const struct = (fields: readonly GoField[]): GoType => ({ kind: 'struct', fields });

/** `json:"name,omitempty"`-style field shorthand: one tag used for both json and yaml. */
export function field(go: string, type: GoType, tag?: GoTag, yamlTag?: GoTag): GoField {
  return { go, type, ...(tag === undefined ? {} : { json: tag }), ...(yamlTag === undefined ? {} : { yaml: yamlTag }) };
}

export function isNil(v: unknown): v is null | undefined {
  return v === undefined || v === null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The value of a struct field in a JS object: the explicit key, else the json name, else the first property
 * whose name equals the Go field name case-insensitively. The last rule is how mobyts keeps YAML keys LinuxKit
 * drops (its decoder wants lower-cased Go names, its schema camelCase ones: `disableOOMKiller`, `hostID`).
 */
export function fieldValue(obj: unknown, f: GoField): unknown {
  if (!isRecord(obj)) return undefined;
  const key = f.key ?? f.json?.name;
  if (key !== undefined && key in obj) return obj[key];
  const lower = f.go.toLowerCase();
  const found = Object.keys(obj).find((k) => k.toLowerCase() === lower);
  return found === undefined ? undefined : obj[found];
}

/** Map entries in Go's order: keys sorted by their UTF-8 bytes. */
export function sortedEntries(v: unknown): [string, unknown][] {
  if (!isRecord(v)) return [];
  return Object.entries(v).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** The fields of a struct with inline (promoted) fields expanded, each paired with its value. */
export function structFields(
  t: Extract<GoType, { kind: 'struct' }>,
  v: unknown,
  tagOf: (f: GoField) => GoTag | undefined,
): { f: GoField; value: unknown }[] {
  const out: { f: GoField; value: unknown }[] = [];
  for (const f of t.fields) {
    if (tagOf(f)?.inline === true && f.type.kind === 'struct') {
      out.push(...structFields(f.type, v, tagOf));
    } else {
      out.push({ f, value: fieldValue(v, f) });
    }
  }
  return out;
}
