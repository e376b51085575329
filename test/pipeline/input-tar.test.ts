/**
 * `--input-tar`: unchanged sections are copied from the previous tar, changed ones regenerated, and the
 * result is byte-identical to a fresh build of the new spec (LinuxKit's stale-cmdline and lost-volume bugs
 * would both break that equality).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startFixture, type Fixture } from './fixture.ts';

let f: Fixture;
before(async () => {
  f = await startFixture();
});
after(() => f.cleanup());

const spec = (cmdline: string, svcCommand: string): string => `
kernel:
  image: HOST/test/kernel:1
  cmdline: "${cmdline}"
init:
  - HOST/test/init:1
volumes:
  - name: volb
    image: HOST/test/data:1
onboot:
  - name: one
    image: HOST/test/svc:1
services:
  - name: svc
    image: HOST/test/svc:1
    command: ["${svcCommand}"]
`;

void test('changed sections are regenerated, unchanged ones copied; the bytes equal a fresh build', async () => {
  const old = join(f.dir, 'old.tar');
  const first = await f.cli(['-o', old, await f.spec('a.yml', spec('console=ttyS0', '/bin/svc'))]);
  assert.equal(first.code, 0, first.stderr);
  const next = await f.spec('b.yml', spec('console=ttyS1', '/bin/other'));
  const reused = await f.cli(['--input-tar', old, '-o', join(f.dir, 'reused.tar'), next]);
  assert.equal(reused.code, 0, reused.stderr);
  const copied = reused.stderr.split('\n').filter((l) => l.startsWith('Copy '));
  assert.deepEqual(
    copied.map((l) => l.replace(f.host, 'HOST')),
    ['Copy volume[0] files from input tar: HOST/test/data:1', 'Copy onboot[0] files from input tar: HOST/test/svc:1'],
  );
  assert.match(reused.stderr, /^Extract kernel image: /m, 'the cmdline changed: the kernel section is regenerated');
  const fresh = await f.cli(['-o', join(f.dir, 'fresh.tar'), next]);
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.ok(
    (await readFile(join(f.dir, 'reused.tar'))).equals(await readFile(join(f.dir, 'fresh.tar'))),
    "reuse gives the fresh build's bytes",
  );
  await writeFile(
    join(f.dir, 'not-a.tar'),
    'garbage that is not a tar archive, long enough to fill a header block'.repeat(10),
  );
  const bad = await f.cli(['--input-tar', join(f.dir, 'not-a.tar'), '-o', join(f.dir, 'x.tar'), next]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^Error: Cannot read --input-tar ".*not-a\.tar"\ncaused by: \S/m);
});
