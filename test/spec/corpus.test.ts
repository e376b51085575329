// Every invalid spec under test/spec/invalid/ renders exactly its .expected golden (what `mobyts validate`
// prints on stderr), reports at least one error, and never crashes or prints a stack trace. A few run through
// the real CLI as a subprocess. Regenerate goldens with UPDATE_GOLDEN=1 and review the diff before committing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { hasErrors, renderIssues, summariseIssues } from '../../src/spec/issues.ts';
import { parseSpec } from '../../src/spec/parse.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dirRel = 'test/spec/invalid';
const dir = `${root}${dirRel}`;
const update = process.env['UPDATE_GOLDEN'] === '1';
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.yml'))
  .sort();
const run = promisify(execFile);

function rendered(file: string): { text: string; errors: boolean } {
  const { issues } = parseSpec(readFileSync(`${root}${file}`, 'utf8'), file);
  return { text: `${renderIssues(issues)}${summariseIssues(issues, [file])}\n`, errors: hasErrors(issues) };
}

const golden = (name: string): string => `${dir}/${name.replace(/\.yml$/, '.expected')}`;

void test('the corpus has at least 40 invalid specs', () => {
  assert.ok(cases.length >= 40, `only ${cases.length} cases`);
});

for (const name of cases) {
  void test(`invalid spec ${name}`, () => {
    const file = `${dirRel}/${name}`;
    const { text, errors } = rendered(file);
    assert.ok(errors, 'expected at least one error');
    assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+\)?\n/, 'looks like a stack trace');
    if (update) writeFileSync(golden(name), text);
    assert.equal(text, readFileSync(golden(name), 'utf8'));
  });
}

const viaCli = [
  '01-unknown-top-level-key.yml',
  '10-octal-file-mode.yml',
  '46-yaml-unclosed-flow.yml',
  '59-many-problems.yml',
];

for (const name of viaCli) {
  void test(`mobyts validate ${name} exits 1 with exactly the golden on stderr`, async () => {
    const file = `${dirRel}/${name}`;
    const err = await run(process.execPath, ['bin/mobyts.js', 'validate', file], { cwd: root }).then(
      () => assert.fail('expected exit code 1'),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    assert.equal(err.code, 1);
    assert.equal(err.stdout, '');
    assert.equal(err.stderr, readFileSync(golden(name), 'utf8'));
  });
}
