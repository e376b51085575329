/** Turns ajv's errors into positioned issues that say what to write instead (did you mean, quote it, …). */
import type { SchemaError } from './schema.ts';
import type { Issue, SpecPath } from './issues.ts';
import type { SpecSource } from './source.ts';
import { closest, didYouMean } from './suggest.ts';

/** Keys of 2017-era specs and what replaced them (docs/linuxkit-behaviour.md#deprecated). */
const HISTORICAL_KEYS: Record<string, string> = {
  system: '"system" was renamed "onboot" in 2017',
  daemon: '"daemon" was renamed "services" in 2017',
};

/** JSON pointer → path with numbers for sequence indexes (decided by the value, so digit map keys stay keys). */
export function pointerToPath(pointer: string, root: unknown): (string | number)[] {
  if (pointer === '') return [];
  const out: (string | number)[] = [];
  let cur: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const key: string | number = Array.isArray(cur) ? Number(seg) : seg;
    out.push(key);
    cur = cur !== null && typeof cur === 'object' ? (cur as Record<string | number, unknown>)[key] : undefined;
  }
  return out;
}

export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'boolean') return `the boolean ${v}`;
  return typeof v === 'string' ? `the string "${v}"` : 'a value of an unexpected kind';
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  number: 'a number',
};

function lastKey(path: SpecPath): string | number | undefined {
  return path[path.length - 1];
}

function modeIssue(src: SpecSource, path: SpecPath, data: number): Issue {
  const text = src.sourceText(path) ?? String(data);
  const octal = /^0[0-7]+$/.test(text) ? text : `0${data.toString(8)}`;
  const digits = /^[0-9]+$/.test(text) && !text.startsWith('0') ? `0${text}` : octal;
  const read = /^0[0-7]+$/.test(text)
    ? `YAML reads the unquoted ${text} as the integer ${data}`
    : `got the number ${text}`;
  return src.issue(path, `mode must be a quoted octal string: ${read}`, { hint: `quote it: mode: "${digits}"` });
}

function typeIssue(src: SpecSource, path: SpecPath, e: SchemaError): Issue {
  const want = String((e.params as { type?: string }).type ?? '');
  const data: unknown = e.data;
  if (lastKey(path) === 'mode' && typeof data === 'number' && want === 'string') return modeIssue(src, path, data);
  const message = `expected ${EXPECTED[want] ?? want}, got ${describeValue(data)}`;
  if (want === 'string' && (typeof data === 'number' || typeof data === 'boolean')) {
    const text = src.sourceText(path) ?? String(data);
    return src.issue(path, message, { hint: `quote it: "${text}"` });
  }
  if (data === null && want === 'array')
    return src.issue(path, message, { hint: 'write [] for an empty list, or remove the key' });
  if (path.length === 1 && path[0] === 'kernel' && typeof data === 'string') {
    return src.issue(path, message, { hint: `since 2017 the kernel is a section: kernel: { image: "${data}" }` });
  }
  return src.issue(path, message);
}

function unknownKeyIssue(src: SpecSource, path: SpecPath, e: SchemaError): Issue {
  const key = String((e.params as { additionalProperty: string }).additionalProperty);
  const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
  const historical = path.length === 0 ? HISTORICAL_KEYS[key] : undefined;
  const opts = historical === undefined ? { at: 'key' as const } : { at: 'key' as const, hint: historical };
  return src.issue([...path, key], `unknown key "${key}"${didYouMean(key, allowed)}`, opts);
}

function enumIssue(src: SpecSource, path: SpecPath, e: SchemaError): Issue {
  const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
  const v = String(e.data);
  const what = lastKey(path) === 'format' && path[0] === 'outputs' ? 'output format' : String(lastKey(path));
  const suggestion = didYouMean(v, allowed);
  if (suggestion !== '') return src.issue(path, `unknown ${what} "${v}"${suggestion}`);
  if (allowed.length <= 4) return src.issue(path, `unknown ${what} "${v}" (one of ${allowed.join(', ')})`);
  return src.issue(path, `unknown ${what} "${v}"`, { hint: `one of ${allowed.join(', ')}` });
}

function anyOfIssue(src: SpecSource, path: SpecPath, e: SchemaError): Issue {
  return src.issue(path, `expected an integer or a container name, got ${describeValue(e.data)}`);
}

/** Missing keys that an unknown key in the same mapping was probably meant to be (`imgae` → `image`). */
function typoTargets(errors: readonly SchemaError[]): Set<string> {
  const out = new Set<string>();
  for (const e of errors) {
    if (e.keyword !== 'additionalProperties') continue;
    const key = String((e.params as { additionalProperty: string }).additionalProperty);
    const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
    const target = closest(key, allowed);
    if (target !== undefined) out.add(`${e.instancePath}/${target}`);
  }
  return out;
}

/** One issue per real problem: anyOf branch noise and "missing X" next to a misspelt X are dropped. */
export function schemaIssues(
  src: SpecSource,
  errors: readonly SchemaError[],
  root: unknown,
  base: SpecPath = [],
): Issue[] {
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const typos = typoTargets(errors);
  const out: Issue[] = [];
  for (const e of errors) {
    const path = [...base, ...pointerToPath(e.instancePath, root)];
    if (e.keyword !== 'anyOf' && anyOfPaths.has(e.instancePath) && e.schemaPath.includes('/anyOf/')) continue;
    switch (e.keyword) {
      case 'additionalProperties':
        out.push(unknownKeyIssue(src, path, e));
        break;
      case 'type':
        out.push(typeIssue(src, path, e));
        break;
      case 'enum':
        out.push(enumIssue(src, path, e));
        break;
      case 'anyOf':
        out.push(anyOfIssue(src, path, e));
        break;
      case 'required': {
        const missing = String((e.params as { missingProperty: string }).missingProperty);
        if (!typos.has(`${e.instancePath}/${missing}`)) out.push(src.issue(path, `missing required key "${missing}"`));
        break;
      }
      default:
        out.push(src.issue(path, e.message ?? 'does not match the schema'));
    }
  }
  return out;
}
