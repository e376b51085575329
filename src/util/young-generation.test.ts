import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

/**
 * A child that allocates like a build streaming many small entries (a quarter of a million objects alive at a
 * time, yielding to the event loop between batches) and prints the largest new space it saw.
 */
const CHILD = `
const [cap, mod] = [Number(process.argv[2]), process.argv[3]];
if (cap > 0) (await import(mod)).capYoungGeneration(cap, 1);
const v8 = process.getBuiltinModule('node:v8');
let max = 0;
const ring = new Array(200_000);
for (let round = 0; round < 800; round++) {
  for (let i = 0; i < 5_000; i++) ring[(round * 5_000 + i) % ring.length] = { a: round, b: i, c: [i, round], s: 'x' + i };
  max = Math.max(max, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
  await new Promise((r) => setTimeout(r, 0));
}
process.stdout.write(String(max));
`;

void test('the new space stops growing once it reaches the cap, a fraction of what V8 alone grows it to', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mobyts-young-'));
  try {
    const child = join(dir, 'child.mjs');
    writeFileSync(child, CHILD);
    const max = (cap: number): number =>
      Number(
        execFileSync(process.execPath, [child, String(cap), join(import.meta.dirname, 'young-generation.ts')], {
          encoding: 'utf8',
        }),
      );
    const cap = 8 << 20;
    const uncapped = max(0);
    const capped = max(cap);
    assert.ok(uncapped > 4 * cap, `without the cap the new space grew to ${uncapped} bytes`);
    // The watch sees the new space only between batches, every millisecond at best: by then V8 may have grown it
    // one step past the cap, two on a busy machine (12-22 MiB measured for this 8 MiB cap, 128 MiB without).
    assert.ok(
      capped >= cap && capped <= uncapped / 4,
      `with a cap of ${cap} bytes it grew to ${capped} (${uncapped} without)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
