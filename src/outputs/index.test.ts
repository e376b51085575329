import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allFormats, getFormat, isFormatName } from './index.ts';

void test('every row of the format table is the record of its own name, and names are unique', () => {
  const names = allFormats().map((f) => f.name);
  assert.equal(new Set(names).size, names.length);
  for (const n of names) assert.equal(getFormat(n).name, n);
  assert.equal(isFormatName('toString'), false);
  assert.throws(() => getFormat('iso'), /Cannot build format "iso": unknown format/);
});

void test('a bootable record names a role for each of its files; formats that boot have kernel needs', () => {
  for (const f of allFormats()) {
    if (f.boot !== undefined) assert.equal(f.boot.roles.length, f.outputs('n').length, f.name);
    if (f.boot !== undefined) assert.notEqual(f.kernel.length, 0, f.name);
  }
  assert.deepEqual(getFormat('tar').kernel, []);
});
