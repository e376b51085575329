// Every examples/*.yml (whoever added it) validates with no problem at all; ours point editors at the schema,
// and examples/moby-2017.yml stays byte-identical to the 2017 moby spec it documents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderIssues } from '../../src/spec/issues.ts';
import { loadSpecs } from '../../src/spec/load.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const examples = readdirSync(`${root}examples`)
  .filter((f) => f.endsWith('.yml'))
  .sort();

void test('the classic examples are present', () => {
  for (const name of ['minimal.yml', 'getty.yml', 'docker.yml', 'redis-os.yml', 'moby-2017.yml'])
    assert.ok(examples.includes(name), name);
});

for (const name of examples) {
  void test(`examples/${name} is valid`, async () => {
    const loaded = await loadSpecs([`${root}examples/${name}`]);
    assert.equal(renderIssues(loaded.issues), '');
    assert.equal(loaded.name, name.replace(/\.yml$/, ''));
  });
}

void test('our examples carry the yaml-language-server schema comment', () => {
  for (const name of ['minimal.yml', 'getty.yml', 'docker.yml', 'redis-os.yml']) {
    const first = readFileSync(`${root}examples/${name}`, 'utf8').split('\n')[0];
    assert.equal(first, '# yaml-language-server: $schema=../schema/moby.schema.json', name);
  }
});

void test('examples/moby-2017.yml is the 2017 spec unchanged', () => {
  // sha256 of the 2017 moby spec from the reference material (the file LinuxKit's predecessor built).
  const copy = readFileSync(`${root}examples/moby-2017.yml`);
  assert.equal(
    createHash('sha256').update(copy).digest('hex'),
    '5dfcce2eb1f7debdf254b24df1a4e8b92f22533fd4b596e0a207df46a000d99a',
  );
});
