/**
 * Go `encoding/json` `MarshalIndent(v, "", "    ")`, byte for byte, for values described by a GoType
 * (docs/linuxkit-behaviour.md#go-json): struct fields in declaration order, `omitempty` as Go defines it (false, 0, "",
 * nil, zero-length slice or map; never a struct), map keys sorted, nil slices/maps/pointers as `null`, empty ones
 * as `[]`/`{}`, HTML-safe string escaping, integers exact (bigint accepted), no trailing newline.
 */
import { isNil, sortedEntries, structFields, type GoField, type GoTag, type GoType } from './go-type.ts';

const INDENT = '    ';
const HEX = '0123456789abcdef';

/** Go's `encodeState.string` with HTML escaping on: the exact escapes `json.Marshal` writes. */
export function goJsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&') out += '\\u00' + HEX[c >> 4] + HEX[c & 15];
    else if (c === 0x2028 || c === 0x2029) out += '\\u' + c.toString(16);
    else if (c >= 0xd800 && c <= 0xdfff)
      out += '\\ufffd'; // lone surrogate: Go writes U+FFFD
    else out += ch;
  }
  return out + '"';
}

/** A Go string field's text; a number (e.g. a YAML-typed `pageSize: 2097152`) is written as its decimal. */
export function scalarText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return v.toString();
  return '';
}

function jsonTag(f: GoField): GoTag | undefined {
  return f.json;
}

function goInt(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' && Number.isInteger(v)) return v.toString();
  if (isNil(v)) return '0';
  throw new TypeError(`go-json: not an integer: ${JSON.stringify(v)}`);
}

/** Go's omitempty test. */
export function isEmptyValue(v: unknown, t: GoType): boolean {
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
      return false;
  }
}

function block(open: string, close: string, items: string[], depth: number): string {
  if (items.length === 0) return open + close;
  const pad = INDENT.repeat(depth + 1);
  return `${open}\n${pad}${items.join(`,\n${pad}`)}\n${INDENT.repeat(depth)}${close}`;
}

function encodeAny(v: unknown, depth: number): string {
  if (isNil(v)) return 'null';
  if (typeof v === 'string') return goJsonString(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number' || typeof v === 'bigint') return goInt(v);
  if (Array.isArray(v))
    return block(
      '[',
      ']',
      v.map((x) => encodeAny(x, depth + 1)),
      depth,
    );
  return block(
    '{',
    '}',
    sortedEntries(v).map(([k, x]) => `${goJsonString(k)}: ${encodeAny(x, depth + 1)}`),
    depth,
  );
}

function encode(v: unknown, t: GoType, depth: number): string {
  switch (t.kind) {
    case 'string':
      return goJsonString(scalarText(v));
    case 'bool':
      return v === true ? 'true' : 'false';
    case 'int':
      return goInt(v);
    case 'any':
      return encodeAny(v, depth);
    case 'ptr':
      return isNil(v) ? 'null' : encode(v, t.elem, depth);
    case 'slice':
      if (!Array.isArray(v)) return 'null';
      return block(
        '[',
        ']',
        v.map((x) => encode(x, t.elem, depth + 1)),
        depth,
      );
    case 'map':
      if (isNil(v)) return 'null';
      return block(
        '{',
        '}',
        sortedEntries(v).map(([k, x]) => `${goJsonString(k)}: ${encode(x, t.elem, depth + 1)}`),
        depth,
      );
    case 'struct': {
      const items: string[] = [];
      for (const { f, value } of structFields(t, v, jsonTag)) {
        const tag = f.json;
        if (tag?.omitempty === true && isEmptyValue(value, f.type)) continue;
        items.push(`${goJsonString(tag?.name ?? f.go)}: ${encode(value, f.type, depth + 1)}`);
      }
      return block('{', '}', items, depth);
    }
  }
}

/** `json.MarshalIndent(v, "", "    ")` of `value` read as Go type `type`. No trailing newline. */
export function marshalIndent(value: unknown, type: GoType): string {
  return encode(value, type, 0);
}
