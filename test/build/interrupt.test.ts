/**
 * Ctrl-C during a build leaves nothing behind: no output, no temp file beside it, no work directory.
 * A large incompressible init image keeps the build busy long enough to be interrupted mid-assembly.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildImage, pushImage } from '../helpers/images.ts';
import { REPO, startFixture, type Fixture } from './fixture.ts';

let f: Fixture;
before(async () => { f = await startFixture(); });
after(() => f.cleanup());

void test('SIGINT mid-build: exit 130, "no output was written", and indeed none, nor any temp file', async () => {
  await pushImage(f.host, 'test/big:1', await buildImage({ layers: [{ entries: [{ type: 'file', path: 'big', content: randomBytes(64 << 20) }] }] }));
  const spec = await f.spec('big.yml', 'kernel:\n  image: HOST/test/kernel:1\ninit:\n  - HOST/test/big:1\n');
  const out = join(f.dir, 'out');
  const tmp = join(f.dir, 'tmp');
  await mkdir(out);
  await mkdir(tmp);
  const child = spawn(process.execPath, [join(REPO, 'bin/mobyts.js'), 'build', '--cache', f.cache, '-f', 'tar,kernel+initrd', '-d', out, spec], {
    env: { PATH: process.env['PATH'] ?? '', HOME: join(f.dir, 'home'), TMPDIR: tmp }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
    if (stderr.includes('Add init containers:') && !child.killed) child.kill('SIGINT');
  });
  const code = await new Promise<number | null>((res) => child.once('close', res));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /^Error: interrupted; no output was written$/m);
  assert.deepEqual(await readdir(out), []);
  assert.deepEqual(await readdir(tmp), []);
});
