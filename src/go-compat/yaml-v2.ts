/**
 * `yaml.Marshal` of gopkg.in/yaml.v2, byte for byte, for values described by a GoType: struct fields in
 * declaration order under their yaml tag or lower-cased Go name, yaml.v2's `omitempty` (a struct is empty when
 * all its fields are), nil slices as `[]` and nil maps as `{}`, nil pointers as `null`, map keys in yaml.v2's
 * "natural" order, block style with 2-space indentation and sequences not indented inside mappings.
 */
import { isNil, fieldValue, type GoField, type GoType } from './go-type.ts';
import { scalarText } from './go-json.ts';
import { LineWriter, writeStringScalar } from './yaml-v2-scalar.ts';

type YNode =
  | { readonly t: 'str'; readonly v: string }
  | { readonly t: 'raw'; readonly v: string }
  | { readonly t: 'seq'; readonly items: YNode[] }
  | { readonly t: 'map'; readonly entries: [YNode, YNode][] };

const isLetter = (ch: string): boolean => /\p{L}/u.test(ch);
const isDigit = (ch: string | undefined): boolean => ch !== undefined && /\p{Nd}/u.test(ch);

/** yaml.v2 `keyList.Less` for two string keys: digit runs compare as numbers, non-letters sort first. */
export function yamlKeyLess(a: string, b: string): boolean {
  const ar = [...a];
  const br = [...b];
  for (let i = 0; i < ar.length && i < br.length; i++) {
    const x = ar[i] ?? '';
    const y = br[i] ?? '';
    if (x === y) continue;
    const al = isLetter(x);
    const bl = isLetter(y);
    if (al && bl) return (x.codePointAt(0) ?? 0) < (y.codePointAt(0) ?? 0);
    if (al || bl) return bl;
    let an = 0n;
    let bn = 0n;
    if (x === '0' || y === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
        if (ar[j] !== '0') {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && isDigit(ar[ai]); ai++) an = an * 10n + BigInt((ar[ai] ?? '0').charCodeAt(0) - 48);
    let bi = i;
    for (; bi < br.length && isDigit(br[bi]); bi++) bn = bn * 10n + BigInt((br[bi] ?? '0').charCodeAt(0) - 48);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return (x.codePointAt(0) ?? 0) < (y.codePointAt(0) ?? 0);
  }
  return ar.length < br.length;
}

function sortedKeys(v: unknown): [string, unknown][] {
  if (typeof v !== 'object' || v === null) return [];
  return Object.entries(v).sort(([a], [b]) => (yamlKeyLess(a, b) ? -1 : yamlKeyLess(b, a) ? 1 : 0));
}

function yamlKey(f: GoField): string {
  return f.yaml?.name ?? f.go.toLowerCase();
}

/** The value of field `f` in `parent`; a json-inlined struct without yaml inline reads its fields from the parent. */
function yamlFieldValue(parent: unknown, f: GoField): unknown {
  if (f.json?.inline === true && f.yaml?.inline !== true) return parent;
  return fieldValue(parent, f);
}

/** yaml.v2 `isZero`, used for omitempty. */
export function isZeroV2(v: unknown, t: GoType): boolean {
  switch (t.kind) {
    case 'string':
      return isNil(v) || v === '';
    case 'bool':
      return isNil(v) || v === false;
    case 'int':
      return isNil(v) || v === 0 || v === 0n;
    case 'ptr':
    case 'any':
      return isNil(v);
    case 'slice':
      return isNil(v) || (Array.isArray(v) && v.length === 0);
    case 'map':
      return isNil(v) || (typeof v === 'object' && Object.keys(v).length === 0);
    case 'struct':
      return t.fields.every((f) => isZeroV2(yamlFieldValue(v, f), f.type));
  }
}

function raw(v: string): YNode {
  return { t: 'raw', v };
}

function intText(v: unknown): string {
  return typeof v === 'bigint' || typeof v === 'number' ? v.toString() : '0';
}

function anyNode(v: unknown): YNode {
  if (isNil(v)) return raw('null');
  if (typeof v === 'string') return { t: 'str', v };
  if (typeof v === 'boolean') return raw(String(v));
  if (typeof v === 'number' || typeof v === 'bigint') return raw(v.toString());
  if (Array.isArray(v)) return { t: 'seq', items: v.map(anyNode) };
  return { t: 'map', entries: sortedKeys(v).map(([k, x]) => [{ t: 'str', v: k }, anyNode(x)]) };
}

function structEntries(fields: readonly GoField[], v: unknown): [YNode, YNode][] {
  const out: [YNode, YNode][] = [];
  for (const f of fields) {
    if (f.yaml?.inline === true && f.type.kind === 'struct') {
      out.push(...structEntries(f.type.fields, v));
      continue;
    }
    const value = yamlFieldValue(v, f);
    if (f.yaml?.omitempty === true && isZeroV2(value, f.type)) continue;
    out.push([{ t: 'str', v: yamlKey(f) }, toNode(value, f.type)]);
  }
  return out;
}

function toNode(v: unknown, t: GoType): YNode {
  switch (t.kind) {
    case 'string':
      return { t: 'str', v: scalarText(v) };
    case 'bool':
      return raw(v === true ? 'true' : 'false');
    case 'int':
      return raw(intText(v));
    case 'any':
      return anyNode(v);
    case 'ptr':
      return isNil(v) ? raw('null') : toNode(v, t.elem);
    case 'slice':
      return { t: 'seq', items: Array.isArray(v) ? v.map((x) => toNode(x, t.elem)) : [] };
    case 'map':
      return { t: 'map', entries: sortedKeys(v).map(([k, x]) => [{ t: 'str', v: k }, toNode(x, t.elem)]) };
    case 'struct':
      return { t: 'map', entries: structEntries(t.fields, v) };
  }
}

function startLine(w: LineWriter, indent: number): void {
  if (w.column !== 0) w.breakLine();
  w.pad(indent);
}

function writeScalar(w: LineWriter, n: YNode, opts: { indent: number; simpleKey: boolean }): void {
  if (n.t === 'str') writeStringScalar(w, n.v, opts);
  else if (n.t === 'raw') for (const ch of n.v) w.write(ch);
}

function isEmptyCollection(n: YNode): boolean {
  return (n.t === 'seq' && n.items.length === 0) || (n.t === 'map' && n.entries.length === 0);
}

/** A mapping whose keys sit at column `indent`; the first key continues the current line if `inline`. */
function emitMap(w: LineWriter, entries: [YNode, YNode][], indent: number, inline: boolean): void {
  entries.forEach(([k, v], i) => {
    if (i > 0 || !inline) startLine(w, indent);
    writeScalar(w, k, { indent, simpleKey: true });
    w.write(':');
    if (v.t === 'map' && v.entries.length > 0) emitMap(w, v.entries, indent + 2, false);
    else if (v.t === 'seq' && v.items.length > 0) emitSeq(w, v.items, indent, false);
    else emitInlineValue(w, v, indent + 2);
  });
}

/** A sequence whose dashes sit at column `indent`. */
function emitSeq(w: LineWriter, items: YNode[], indent: number, inline: boolean): void {
  items.forEach((item, i) => {
    if (i > 0 || !inline) startLine(w, indent);
    w.write('-');
    if (item.t === 'map' && item.entries.length > 0) {
      w.write(' ');
      emitMap(w, item.entries, indent + 2, true);
    } else if (item.t === 'seq' && item.items.length > 0) {
      w.write(' ');
      emitSeq(w, item.items, indent + 2, true);
    } else {
      emitInlineValue(w, item, indent + 2);
    }
  });
}

/** A scalar or an empty collection after `key:` or `-`. */
function emitInlineValue(w: LineWriter, v: YNode, indent: number): void {
  w.write(' ');
  if (isEmptyCollection(v)) for (const ch of v.t === 'seq' ? '[]' : '{}') w.write(ch);
  else writeScalar(w, v, { indent, simpleKey: false });
}

/** `yaml.Marshal(value)` where `value` is read as Go type `type`; ends with a newline as yaml.v2's output does. */
export function marshalYamlV2(value: unknown, type: GoType): string {
  const w = new LineWriter();
  const node = toNode(value, type);
  if (node.t === 'map' && node.entries.length > 0) emitMap(w, node.entries, 0, false);
  else if (node.t === 'seq' && node.items.length > 0) emitSeq(w, node.items, 0, false);
  else emitInlineValue(w, node, 0);
  if (w.column !== 0) w.breakLine();
  if (w.openEnded) w.out += '...\n';
  return w.out.startsWith(' ') && !(node.t === 'map' || node.t === 'seq') ? w.out.slice(1) : w.out;
}
