/**
 * Every warning the pipeline emits must reach the user: library code takes its Reporter as a required
 * parameter, so a call site that forgets it does not compile. This test fails when a module reintroduces the
 * way to emit into nothing: an optional reporter (`reporter?:`, `reporter?.emit`) or a silent default.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return sources(p);
    return d.name.endsWith('.ts') && !d.name.endsWith('.test.ts') ? [p] : [];
  });
}

const EMITS_INTO_NOTHING = [
  /\breporter\?\s*:/,
  /\breporter\?\.\s*emit\b/,
  /\?\?\s*silentReporter\b/,
  /\breporter\s*=\s*silentReporter\b/,
];

void test('no module can emit a warning into nothing: reporters are required, never optional or silent by default', () => {
  const offenders: string[] = [];
  for (const file of sources(SRC)) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (EMITS_INTO_NOTHING.some((re) => re.test(line)))
          offenders.push(`src/${relative(SRC, file)}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(offenders, []);
});

void test('the check finds an optional reporter (it would catch the old flatten.ts and initrd.ts)', () => {
  assert.ok(EMITS_INTO_NOTHING.some((re) => re.test('  reporter?: Reporter;')));
  assert.ok(EMITS_INTO_NOTHING.some((re) => re.test("opts.reporter?.emit({ type: 'warn', message })")));
  assert.ok(EMITS_INTO_NOTHING.some((re) => re.test('const r = opts.reporter ?? silentReporter;')));
});
