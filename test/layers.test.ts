/**
 * Dependencies point one way (docs/architecture.md#layers): the level table in that section is the rule.
 * Every non-test module under src/ may import only folders at its own level or lower; no file-level import
 * cycles; `node:child_process` only in src/tools/; the network only in src/registry/. Imports are read with a
 * small parser over the source text (static `import`/`export … from`, dynamic `import('…')`).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';

const REPO = join(import.meta.dirname, '..');
const SRC = join(REPO, 'src');

/**
 * Imports that still point up, each with the reason; the test fails when one is gone, so this only shrinks.
 * `from → to` as paths under src/. Empty: a new entry needs a reason a reviewer accepts.
 */
const KNOWN_UPWARD: Record<string, string> = {};

const NETWORK_MODULES = new Set([
  'undici',
  'node:http',
  'node:https',
  'node:http2',
  'node:net',
  'node:tls',
  'node:dgram',
  'http',
  'https',
  'net',
  'tls',
]);

/** Folder → level, from the table under `<a id="layers">` in docs/architecture.md. */
function levels(): Map<string, number> {
  const doc = readFileSync(join(REPO, 'docs/architecture.md'), 'utf8');
  const start = doc.indexOf('<a id="layers"></a>');
  const section = doc.slice(start, doc.indexOf('<a id=', start + 1));
  const out = new Map<string, number>();
  for (const m of section.matchAll(/^\| (\d+) \| ([^|]+) \|/gm)) {
    for (const f of (m[2] ?? '').matchAll(/`([a-z-]+)`/g)) out.set(f[1] ?? '', Number(m[1]));
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

/** The code of a module without its comments (so a comment mentioning `fetch(` or an import is not code). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/** Every module specifier `file` imports or re-exports, statically or dynamically. */
function specifiers(text: string): string[] {
  const re =
    /\b(?:import|export)\s[^;]*?\sfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm;
  return [...code(text).matchAll(re)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

interface Module {
  file: string;
  folder: string;
  imports: string[];
  external: string[];
  text: string;
}

function modules(): Module[] {
  return sourceFiles(SRC).map((path) => {
    const text = readFileSync(path, 'utf8');
    const file = relative(SRC, path);
    const specs = specifiers(text);
    return {
      file,
      text,
      folder: file.split('/')[0] ?? '',
      imports: specs.filter((s) => s.startsWith('.')).map((s) => normalize(join(dirname(file), s))),
      external: specs.filter((s) => !s.startsWith('.')),
    };
  });
}

void test('the layer table places every folder of src/', () => {
  const table = levels();
  const folders = readdirSync(SRC, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  assert.deepEqual(
    folders.filter((f) => !table.has(f)),
    [],
    'folders missing from the table in docs/architecture.md#layers',
  );
  assert.deepEqual(
    [...table.keys()].filter((f) => !folders.includes(f)),
    [],
    'table rows naming no folder',
  );
});

/** Every import in `mods` that points to a folder of a higher level than its own, as `from → to`. */
function upwardImports(
  mods: readonly Pick<Module, 'file' | 'folder' | 'imports'>[],
  table: Map<string, number>,
): string[] {
  const upward: string[] = [];
  for (const m of mods) {
    for (const target of m.imports) {
      const to = target.split('/')[0] ?? '';
      if (to === m.folder || !table.has(to)) continue;
      if ((table.get(to) ?? 0) > (table.get(m.folder) ?? 0)) upward.push(`${m.file} → ${target}`);
    }
  }
  return upward;
}

void test('no module imports a folder above its own level (except the listed ones, which must still exist)', () => {
  const upward = upwardImports(modules(), levels());
  const unknown = upward.filter((e) => KNOWN_UPWARD[e] === undefined);
  const gone = Object.keys(KNOWN_UPWARD).filter((e) => !upward.includes(e));
  assert.deepEqual(unknown, [], 'imports pointing up the layers (docs/architecture.md#layers)');
  assert.deepEqual(gone, [], 'listed exceptions that no longer exist: remove them from KNOWN_UPWARD');
});

void test('no import cycle between files', () => {
  const graph = new Map(modules().map((m) => [m.file, m.imports]));
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
      return;
    }
    state.set(file, 'open');
    for (const next of graph.get(file) ?? []) if (graph.has(next)) visit(next, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(cycles, []);
});

void test('only tools/ starts processes, only registry/ talks to the network', () => {
  const spawners = modules().filter(
    (m) => m.folder !== 'tools' && m.external.some((s) => s === 'node:child_process' || s === 'child_process'),
  );
  assert.deepEqual(
    spawners.map((m) => m.file),
    [],
    'node:child_process outside src/tools/',
  );
  const network = modules().filter(
    (m) =>
      m.folder !== 'registry' &&
      (m.external.some((s) => NETWORK_MODULES.has(s)) || /(?<![.\w])fetch\s*\(/.test(code(m.text))),
  );
  assert.deepEqual(
    network.map((m) => m.file),
    [],
    'network access outside src/registry/',
  );
});

void test('the checks see what they claim to: an upward import, a spawner and a network module are found', () => {
  const all = modules();
  // The real tree has no upward import, so the check is shown one: spec/ (level 5) importing outputs/ (level 7),
  // beside imports it must let through (its own folder, a lower one, a path outside the table).
  const table = levels();
  const specImports = all.find((m) => m.file === 'spec/types.ts')?.imports ?? [];
  assert.ok(specImports.includes('spec/format-names.ts'), 'spec/types.ts imports are read');
  const madeUp = {
    file: 'spec/made-up.ts',
    folder: 'spec',
    imports: ['outputs/index.ts', 'spec/types.ts', 'util/errors.ts', '../package.json'],
  };
  assert.deepEqual(upwardImports([madeUp], table), ['spec/made-up.ts → outputs/index.ts']);
  assert.ok(all.some((m) => m.file === 'tools/spawn.ts' && m.external.includes('node:child_process')));
  assert.ok(all.some((m) => m.file === 'registry/transport.ts' && m.external.includes('undici')));
  assert.ok(all.some((m) => m.file === 'registry/fetch-text.ts' && /(?<![.\w])fetch\s*\(/.test(code(m.text))));
  assert.ok(
    all.some((m) => m.file === 'cli/commands/build.ts' && m.imports.includes('pipeline/run.ts')),
    'dynamic imports are read',
  );
});
