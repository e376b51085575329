/**
 * A spec file's text parsed once into a YAML document with positions, so every later check can point at the
 * line and column of the key or value it is about. Parsing follows LinuxKit's yaml.v3: YAML 1.2 core schema,
 * except that a leading-zero integer (`0644`) is octal as in YAML 1.1 (so `mode: 0644` reads as 420, which the
 * rules then report), and duplicate keys are errors.
 */
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node,
  type ScalarTag,
} from 'yaml';
import { formatPath, type Issue, type Severity, type SpecPath } from './issues.ts';

const yaml11Octal: ScalarTag = {
  identify: (v) => typeof v === 'number',
  default: true,
  tag: 'tag:yaml.org,2002:int',
  format: 'OCT',
  test: /^[-+]?0[0-7]+$/,
  resolve: (s) => parseInt(s, 8),
};

export interface IssueOptions {
  hint?: string;
  /** Point at the key of the last path segment rather than its value (unknown keys). */
  at?: 'key' | 'value';
  severity?: Severity;
}

/** How a check reports one issue at a spec path (the source adds file, line and column). */
export type Emit = (path: SpecPath, message: string, opts?: IssueOptions) => void;

export interface SpecSource {
  /** The name used in issues. */
  readonly file: string;
  readonly text: string;
  /** The plain value (undefined for an empty document); not validated. */
  readonly value: unknown;
  /** YAML syntax problems; when any is fatal, `value` is not worth checking. */
  readonly syntaxIssues: Issue[];
  readonly fatal: boolean;
  /** An issue positioned at `path` (falling back to the nearest existing ancestor). */
  issue(path: SpecPath, message: string, opts?: IssueOptions): Issue;
  /** The source text of the scalar at `path`, e.g. `0644` for a value read as 420. */
  sourceText(path: SpecPath): string | undefined;
}

interface Found {
  node: Node | null;
  key: Node | null;
}

function step(node: unknown, seg: string | number): Found | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const k = pair.key;
      const keyValue = isScalar(k) ? k.value : k;
      if (keyValue === seg || String(keyValue) === String(seg)) {
        return { node: (pair.value as Node | null) ?? null, key: isScalar(k) ? k : null };
      }
    }
    return undefined;
  }
  if (isSeq(node) && typeof seg === 'number') {
    const item = node.items[seg];
    if (item === undefined) return undefined;
    return { node: isPair(item) ? null : (item as Node | null), key: null };
  }
  return undefined;
}

/**
 * Walks `path` as far as it exists. Returns the deepest value node and its key (null for `key:` without a value,
 * or for sequence items) and whether the whole path was found.
 */
function walk(doc: Document, path: SpecPath): Found & { complete: boolean; ancestor: Node | null } {
  let node = doc.contents;
  let key: Node | null = null;
  let ancestor: Node | null = node;
  for (const seg of path) {
    const next = step(node, seg);
    if (next === undefined) return { node: null, key: null, complete: false, ancestor };
    ({ node, key } = next);
    if (node !== null) ancestor = node;
  }
  return { node, key, complete: true, ancestor };
}

/** The path of the mapping key that starts at `offset` (for duplicate-key errors). */
function keyPathAt(node: unknown, offset: number, base: (string | number)[] = []): (string | number)[] | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const k = pair.key;
      const name = isScalar(k) ? String(k.value) : '?';
      if (isScalar(k) && k.range?.[0] === offset) return [...base, name];
      const inner = keyPathAt(pair.value, offset, [...base, name]);
      if (inner !== undefined) return inner;
    }
  } else if (isSeq(node)) {
    for (const [i, item] of node.items.entries()) {
      const inner = keyPathAt(item, offset, [...base, i]);
      if (inner !== undefined) return inner;
    }
  }
  return undefined;
}

function syntaxMessage(code: string, text: string, pos: readonly [number, number]): string {
  if (code === 'MULTIPLE_DOCS') return 'a spec file holds one YAML document, but this one has another after "---"';
  if (code === 'DUPLICATE_KEY') {
    const line = text.slice(pos[0]).split('\n')[0] ?? '';
    const key = line.split(':')[0]?.trim() ?? '';
    return `duplicate key "${key}"`;
  }
  return '';
}

const SYNTAX_HINTS: [RegExp, string][] = [
  [
    /Nested mappings are not allowed in compact mappings/,
    'a ": " inside a plain value starts a mapping: quote the value',
  ],
  [/Tabs are not allowed as indentation/, 'indent with spaces'],
  [/Missing closing "?quote/, 'close the string with the quote it starts with'],
  [/^Flow (sequence|map)/, 'close the [ ] or { } it opens, or indent its continuation lines further than the key'],
  [
    /Implicit (map )?keys|block sequence may not be used as an implicit map key|Sequence item without - indicator|must be sufficiently indented/,
    'check the indentation of this line against the lines above',
  ],
];

function syntaxHint(message: string): string | undefined {
  return SYNTAX_HINTS.find(([re]) => re.test(message))?.[1];
}

/** Parses `text`; never throws. */
export function parseSource(text: string, file: string): SpecSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    merge: true,
    customTags: (tags) => [yaml11Octal, ...tags],
  });
  const position = (offset: number): { line: number; col: number } => lineCounter.linePos(offset);
  const mk = (path: SpecPath, message: string, opts: IssueOptions, offset: number | undefined): Issue => {
    const pos = offset === undefined ? { line: 0, col: 0 } : position(offset);
    const issue: Issue = {
      file,
      line: pos.line,
      col: pos.col,
      path: formatPath(path),
      message,
      severity: opts.severity ?? 'error',
    };
    if (opts.hint !== undefined) issue.hint = opts.hint;
    return issue;
  };
  const syntaxIssues = doc.errors
    .map((e) => {
      const own = syntaxMessage(e.code, text, e.pos);
      const detail = e.message.split(' at line ')[0] ?? e.message;
      const message = own !== '' ? own : `YAML syntax error: ${detail}`;
      const path = e.code === 'DUPLICATE_KEY' ? (keyPathAt(doc.contents, e.pos[0]) ?? []) : [];
      const hint = own === '' ? syntaxHint(detail) : undefined;
      return mk(path, message, hint === undefined ? {} : { hint }, e.pos[0]);
    })
    .filter((issue, i, all) => all.findIndex((o) => o.line === issue.line) === i); // one error per line: the rest cascade
  const fatal = doc.errors.some((e) => e.code !== 'DUPLICATE_KEY');
  let value: unknown;
  try {
    value = fatal ? undefined : doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    syntaxIssues.push(mk([], `YAML error: ${err instanceof Error ? err.message : String(err)}`, {}, 0));
  }
  return {
    file,
    text,
    value,
    syntaxIssues,
    fatal: fatal || (value === undefined && syntaxIssues.length > 0),
    issue(path, message, opts = {}) {
      const w = walk(doc, path);
      const target = w.complete ? (opts.at === 'key' ? (w.key ?? w.node) : (w.node ?? w.key)) : w.ancestor;
      return mk(path, message, opts, target?.range?.[0] ?? (text.length > 0 ? 0 : undefined));
    },
    sourceText(path) {
      const { node: n, complete } = walk(doc, path);
      return complete && isScalar(n) && n.range !== undefined && n.range !== null
        ? text.slice(n.range[0], n.range[1])
        : undefined;
    },
  };
}
