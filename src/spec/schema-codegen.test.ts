// The precompiled validators must be generated from the current schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { generateValidatorsModule } from './schema-codegen.ts';
import { mobySchema } from './schema.ts';

const target = new URL('./generated/schema-validators.ts', import.meta.url);

void test('generated/schema-validators.ts is up to date with schema/moby.schema.json', () => {
  const fresh = generateValidatorsModule(mobySchema);
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(target, fresh);
  assert.ok(
    readFileSync(target, 'utf8') === fresh,
    'stale: run UPDATE_GOLDEN=1 node --test src/spec/schema-codegen.test.ts',
  );
});
