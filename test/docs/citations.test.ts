/**
 * The repository stands alone: comments and docs cite the project's own documents (docs/*.md), never a
 * document outside the repository, and every `docs/X.md#anchor` they cite exists. See docs/architecture.md#testing.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const REPO = join(import.meta.dirname, '../..');
const ROOTS = [
  'src',
  'test',
  'bench',
  'docs',
  'scripts',
  'examples',
  'kernel-configs',
  'schema',
  'bin',
  '.ci',
  'README.md',
];
const SKIP_DIRS = new Set(['node_modules', 'results', 'fixtures']);

// Built from parts so this file does not match itself.
const SECTION = '\u00a7';
const SHARED = ['..', 'shared/'].join('/');
const OUTSIDE = new RegExp(
  `(linuxkit|design|boot-recipes)(\\.md)? ${SECTION}|${SHARED.replaceAll('.', '\\.')}|/work/${'shared'}\\b`,
);
/** `docs/NAME.md#anchor`, then further anchors of the same document: `, #b`, ` and #c`, ` to #d`. */
const CITATION = /docs\/([a-z0-9-]+\.md)((?:#[a-z0-9-]+)(?:(?:,| and| to) #[a-z0-9-]+)*)/g;
/** A relative markdown link between the docs: `](name.md#anchor)`. */
const MD_LINK = /\]\(([a-z0-9-]+\.md)(#[a-z0-9-]+)\)/g;

function* files(path: string): Generator<string> {
  if (statSync(path).isFile()) {
    yield path;
    return;
  }
  for (const name of readdirSync(path).sort()) {
    if (!SKIP_DIRS.has(name)) yield* files(join(path, name));
  }
}

function textFiles(): Array<{ file: string; text: string }> {
  const out: Array<{ file: string; text: string }> = [];
  for (const root of ROOTS) {
    for (const path of files(join(REPO, root))) {
      const bytes = readFileSync(path);
      if (!bytes.includes(0)) out.push({ file: relative(REPO, path), text: bytes.toString('utf8') });
    }
  }
  return out;
}

/** GitHub's heading slug: lower case, punctuation dropped, spaces to `-`. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replaceAll(' ', '-');
}

function anchorsOf(doc: string): Set<string> {
  const text = readFileSync(join(REPO, 'docs', doc), 'utf8');
  const ids = [...text.matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1] ?? '');
  const headings = [...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1] ?? ''));
  return new Set([...ids, ...headings]);
}

void test('no comment or doc cites a document outside the repository', () => {
  const hits = textFiles().flatMap(({ file, text }) =>
    text.split('\n').flatMap((line, i) => (OUTSIDE.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
  );
  assert.deepEqual(hits, []);
});

void test('every cited docs/X.md#anchor exists', () => {
  const anchors = new Map<string, Set<string>>();
  const missing: string[] = [];
  const check = (file: string, doc: string, list: string): void => {
    let known = anchors.get(doc);
    if (known === undefined) {
      try {
        known = anchorsOf(doc);
      } catch {
        missing.push(`${file}: docs/${doc} does not exist`);
        return;
      }
      anchors.set(doc, known);
    }
    for (const m of list.matchAll(/#([a-z0-9-]+)/g)) {
      if (!known.has(m[1] ?? '')) missing.push(`${file}: docs/${doc}#${m[1]}`);
    }
  };
  for (const { file, text } of textFiles()) {
    for (const m of text.matchAll(CITATION)) check(file, m[1] ?? '', m[2] ?? '');
    if (file.startsWith('docs/')) for (const m of text.matchAll(MD_LINK)) check(file, m[1] ?? '', m[2] ?? '');
  }
  assert.deepEqual(missing, []);
  assert.ok(anchors.size >= 3, 'the citations of at least three docs were checked');
});
