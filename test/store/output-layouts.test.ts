/**
 * What the last build wrote into each initrd output (src/store/output-layouts.ts): kept per output path, read
 * back as written; a damaged record is none; what a build killed while writing one left is swept by the next.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { outputLayouts, type OutputLayout } from '../../src/store/output-layouts.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mobyts-layouts-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const LAYOUT: OutputLayout = {
  identity: '1:2:3:4:5:6',
  parts: [{ size: 3, digest: 'sha256:aa' }],
  tail: 'sha256:bb',
};

void test('recorded per output path, read back; damaged is none; a killed writer leftover is swept', async () => {
  const layouts = outputLayouts(join(dir, 'cache'));
  assert.equal(await layouts.get(join(dir, 'out', 'a-initrd.img')), undefined);
  await layouts.put(join(dir, 'out', 'a-initrd.img'), LAYOUT);
  assert.deepEqual(await layouts.get(join(dir, 'out', 'a-initrd.img')), LAYOUT);
  assert.equal(await layouts.get(join(dir, 'out', 'b-initrd.img')), undefined, 'another output has its own record');

  const records = join(dir, 'cache', '.mobyts', 'outputs');
  const [name = ''] = await readdir(records);
  // a temporary file of a writer that is gone (a pid that cannot be running), as SIGKILL leaves it
  await writeFile(join(records, `.${name}.tmp-4194304-1-0123456789ab`), '{"identity"');
  await writeFile(join(records, name), '{"identity": 7, "parts": []}');
  assert.equal(await layouts.get(join(dir, 'out', 'a-initrd.img')), undefined, 'damaged: no record');
  await layouts.put(join(dir, 'out', 'a-initrd.img'), LAYOUT);
  assert.deepEqual(await readdir(records), [name]);
  assert.deepEqual(await layouts.get(join(dir, 'out', 'a-initrd.img')), LAYOUT);
});
