/**
 * Generated specs (fast-check): every example spec, mutated as text (characters YAML cares about inserted,
 * ranges deleted, lines duplicated, swapped or re-indented) and as a tree (any node replaced by an arbitrary
 * JSON value, keys renamed, entries dropped or duplicated). Whatever comes out, validation reports only
 * positioned problems (`FILE:LINE:COL: PATH: message`) and never throws; a spec it accepts normalises
 * without error. Thousands in process (the library `mobyts validate` calls), a few hundred through the real
 * CLI (`mobyts validate --each`), which must never exit 70 or print a stack.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { parseDocument, isMap, isSeq, isScalar, type Node } from 'yaml';
import { hasErrors } from '../../src/spec/issues.ts';
import { loadSpecs } from '../../src/spec/load.ts';
import { normaliseSpec } from '../../src/spec/normalise.ts';
import { isMobyError } from '../../src/util/errors.ts';

const REPO = resolve(import.meta.dirname, '../..');
const IN_PROCESS_RUNS = 3000;
const CLI_RUNS = 300;
const CLI_BATCH = 60;

let examples: string[] = [];
let work: string;
const counts = { inProcess: 0, cli: 0, invalid: 0 };

before(async () => {
  const dir = join(REPO, 'examples');
  examples = await Promise.all(
    (await readdir(dir))
      .filter((f) => f.endsWith('.yml'))
      .sort()
      .map((f) => readFile(join(dir, f), 'utf8')),
  );
  work = await mkdtemp(join(tmpdir(), 'mobyts-prop-specs-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
  process.stdout.write(
    `# mutated specs: ${counts.inProcess} validated in process, ${counts.cli} through the CLI, ${counts.invalid} of them invalid\n`,
  );
});

const YAML_CHARS = [
  ':',
  '-',
  ' ',
  '\n',
  '\t',
  '[',
  ']',
  '{',
  '}',
  '#',
  '&',
  '*',
  '!',
  '|',
  '>',
  "'",
  '"',
  '%',
  '@',
  '`',
  ',',
  '?',
  '0',
  '7',
  'x',
  '\u00e9',
  '\ufeff',
  '\u0000',
];

type TextEdit =
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'dupLine'; line: number }
  | { kind: 'swapLines'; a: number; b: number }
  | { kind: 'indent'; line: number; by: number }
  | { kind: 'truncate'; at: number };

const textEdit: fc.Arbitrary<TextEdit> = fc.oneof(
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.array(fc.constantFrom(...YAML_CHARS), { minLength: 1, maxLength: 4 }).map((a) => a.join('')),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant('dupLine' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('swapLines' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant('indent' as const), line: fc.nat(), by: fc.integer({ min: -4, max: 4 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function applyText(text: string, e: TextEdit): string {
  const lines = text.split('\n');
  const ln = (i: number): number => i % Math.max(lines.length, 1);
  switch (e.kind) {
    case 'insert': {
      const at = e.at % (text.length + 1);
      return text.slice(0, at) + e.text + text.slice(at);
    }
    case 'delete': {
      const at = e.at % (text.length + 1);
      return text.slice(0, at) + text.slice(at + e.len);
    }
    case 'truncate':
      return text.slice(0, e.at % (text.length + 1));
    case 'dupLine':
      lines.splice(ln(e.line), 0, lines[ln(e.line)] ?? '');
      return lines.join('\n');
    case 'swapLines': {
      const a = lines[ln(e.a)] ?? '';
      lines[ln(e.a)] = lines[ln(e.b)] ?? '';
      lines[ln(e.b)] = a;
      return lines.join('\n');
    }
    case 'indent': {
      const l = lines[ln(e.line)] ?? '';
      lines[ln(e.line)] = e.by >= 0 ? ' '.repeat(e.by) + l : l.replace(new RegExp(`^ {0,${-e.by}}`), '');
      return lines.join('\n');
    }
  }
}

/** Values that are plausible in specs and the edges around them. */
const specValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    '0644',
    0o644,
    420,
    '0o777',
    '9999',
    -1,
    2 ** 53,
    1e308,
    '',
    ' ',
    'CAP_NET_ADMN',
    'all',
    'root',
    '@pkg:./nope',
    'docker.io/library/alpine:3.20@sha256:xyz',
    '../../etc/passwd',
    '/',
    'a:b:c',
    'linuxkit/kernel:6.6.71',
    true,
    null,
    [],
    {},
    ['/bin/sh', '-c'],
    { path: 'x' },
  ),
  fc.string({ maxLength: 30 }),
);

type TreeEdit =
  | { kind: 'replace'; pick: number; value: unknown }
  | { kind: 'rename'; pick: number; key: string }
  | { kind: 'drop'; pick: number }
  | { kind: 'dup'; pick: number };

const treeEdit: fc.Arbitrary<TreeEdit> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(), value: specValue }),
  fc.record({
    kind: fc.constant('rename' as const),
    pick: fc.nat(),
    key: fc.oneof(
      fc.constantFrom(
        'name',
        'image',
        'capabilities',
        'binds',
        'mode',
        'contents',
        'source',
        'cmdline',
        'runtime',
        'uid',
        'gid',
        'rootfsPropagation',
        'imag',
        'Image',
      ),
      fc.string({ maxLength: 8 }),
    ),
  }),
  fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('dup' as const), pick: fc.nat() }),
);

/** Every collection node with its parent, depth first (the document root first). */
function collections(node: unknown, out: Node[] = []): Node[] {
  if (isMap(node) || isSeq(node)) {
    out.push(node);
    for (const item of node.items) collections(isMap(node) ? (item as { value: unknown }).value : item, out);
  }
  return out;
}

function applyTree(text: string, edits: TreeEdit[]): string {
  const doc = parseDocument(text);
  for (const e of edits) {
    const nodes = collections(doc.contents);
    const node = nodes[e.pick % Math.max(nodes.length, 1)];
    if (node === undefined || !(isMap(node) || isSeq(node)) || node.items.length === 0) continue;
    const i = e.pick % node.items.length;
    if (e.kind === 'drop') node.items.splice(i, 1);
    else if (e.kind === 'dup') node.items.splice(i, 0, node.items[i] as never);
    else if (e.kind === 'replace') {
      const v = doc.createNode(e.value);
      if (isMap(node)) (node.items[i] as { value: unknown }).value = v;
      else node.items[i] = v;
    } else if (isMap(node)) {
      const pair = node.items[i] as { key: unknown };
      if (isScalar(pair.key)) pair.key.value = e.key;
    }
  }
  return doc.toString();
}

const mutatedSpec: fc.Arbitrary<string> = fc
  .record({
    example: fc.nat(),
    tree: fc.array(treeEdit, { maxLength: 3 }),
    text: fc.array(textEdit, { maxLength: 4 }),
  })
  .map(({ example, tree, text }) => {
    const base = examples[example % examples.length] ?? '';
    return text.reduce(applyText, tree.length === 0 ? base : applyTree(base, tree));
  });

const POSITIONED = /^(.+):(\d+):(\d+): /;

void test(`${IN_PROCESS_RUNS} mutated example specs: only positioned problems, never a throw`, async () => {
  await fc.assert(
    fc.asyncProperty(mutatedSpec, async (text) => {
      counts.inProcess++;
      let loaded;
      try {
        loaded = await loadSpecs(['-'], { stdin: Readable.from([text]) });
      } catch (err) {
        assert.fail(`loadSpecs threw ${isMobyError(err) ? 'a MobyError' : 'a bug'}: ${String((err as Error).stack)}`);
      }
      const hasContent = text.split('\n').some((l) => l.trim() !== '' && !l.trim().startsWith('#'));
      for (const i of loaded.issues) {
        assert.equal(i.file, '<stdin>');
        if (hasContent) assert.ok(i.line >= 1 && i.col >= 1, `positioned: ${JSON.stringify(i)}`);
        assert.ok(i.message.length > 0 && !/\n\s+at /.test(i.message), `a message, not a stack: ${JSON.stringify(i)}`);
      }
      if (hasErrors(loaded.issues)) counts.invalid++;
      else {
        try {
          normaliseSpec(loaded.spec);
        } catch (err) {
          assert.fail(`a spec validation accepts normalises: ${String((err as Error).stack)}`);
        }
      }
    }),
    { numRuns: IN_PROCESS_RUNS },
  );
});

void test(`${CLI_RUNS} mutated specs through \`mobyts validate --each\`: exit 0 or 1, every problem FILE:LINE:COL, no stack`, async () => {
  const specs = fc.sample(mutatedSpec, { numRuns: CLI_RUNS, seed: 17 });
  for (let b = 0; b < specs.length; b += CLI_BATCH) {
    const files: string[] = [];
    for (const [i, text] of specs.slice(b, b + CLI_BATCH).entries()) {
      const file = join(work, `m${b + i}.yml`);
      await writeFile(file, text);
      files.push(file);
    }
    const r = spawnSync(process.execPath, [join(REPO, 'bin/mobyts.js'), 'validate', '--each', ...files], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    counts.cli += files.length;
    assert.ok(r.status === 0 || r.status === 1, `exit ${r.status}:\n${r.stderr.slice(0, 2000)}`);
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at \S+ \(/);
    for (const line of r.stderr.split('\n').filter((l) => l !== '')) {
      if (/^ {2}hint: /.test(line) || /^\d+ problems? in |^\d+ errors?|warnings? in /.test(line)) continue;
      const m = POSITIONED.exec(line);
      assert.ok(m !== null && files.includes(m[1] ?? ''), `a positioned problem line: ${JSON.stringify(line)}`);
    }
  }
});

void test('the generators do produce invalid specs (the property is not vacuous)', () => {
  assert.ok(counts.invalid > IN_PROCESS_RUNS / 10, `${counts.invalid} of ${counts.inProcess} invalid`);
});
