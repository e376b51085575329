// Generated bad specs: every value of the examples replaced by every kind of wrong value. parseSpec must never
// throw, and every issue must have a position inside the file and a message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isMap, isSeq, parseDocument } from 'yaml';
import { parseSpec } from '../../src/spec/parse.ts';

const WRONG: unknown[] = [null, 0o644, true, '', [1, { a: 'b' }], { kernal: 'x' }, '@pkg:./p', 'A:B:C:D'];

function paths(node: unknown, base: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [];
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = String((pair.key as { value?: unknown } | null)?.value);
      out.push([...base, key], ...paths(pair.value, [...base, key]));
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => out.push([...base, i], ...paths(item, [...base, i])));
  }
  return out;
}

for (const name of ['minimal', 'moby-2017']) {
  void test(`every value of examples/${name}.yml replaced by wrong values: no throw, positioned issues`, () => {
    const text = readFileSync(new URL(`../../examples/${name}.yml`, import.meta.url), 'utf8');
    const all = paths(parseDocument(text).contents);
    let checked = 0;
    for (const path of all) {
      for (const wrong of WRONG) {
        const doc = parseDocument(text);
        doc.setIn(path, doc.createNode(wrong));
        const mutated = doc.toString();
        const lines = mutated.split('\n').length;
        const { issues } = parseSpec(mutated, 'm.yml');
        for (const i of issues) {
          assert.ok(
            i.line >= 1 && i.line <= lines && i.col >= 1,
            `${JSON.stringify(path)} = ${JSON.stringify(wrong)}: ${JSON.stringify(i)}`,
          );
          assert.ok(i.message.length > 0);
        }
        checked++;
      }
    }
    assert.ok(checked > 100, `only ${checked} mutations`);
  });
}
