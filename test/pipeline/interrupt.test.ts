/**
 * Ctrl-C during a build leaves nothing behind: no output, no temp file beside it, no work directory.
 * SIGKILL cannot be caught: the work directory it leaves is under the cache (never TMPDIR), and the next
 * build sweeps it. A large incompressible init image keeps the build busy long enough to be interrupted.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildImage, pushImage } from '../helpers/images.ts';
import { REPO, runCli, startFixture, type Fixture } from './fixture.ts';

let f: Fixture;
before(async () => {
  f = await startFixture();
});
after(() => f.cleanup());

void test('SIGINT mid-build: exit 130, "no output was written", and indeed none, nor any temp file', async () => {
  await pushImage(
    f.host,
    'test/big:1',
    await buildImage({ layers: [{ entries: [{ type: 'file', path: 'big', content: randomBytes(64 << 20) }] }] }),
  );
  const spec = await f.spec('big.yml', 'kernel:\n  image: HOST/test/kernel:1\ninit:\n  - HOST/test/big:1\n');
  const out = join(f.dir, 'out');
  const tmp = join(f.dir, 'tmp');
  await mkdir(out);
  await mkdir(tmp);
  const child = spawn(
    process.execPath,
    [join(REPO, 'bin/mobyts.js'), 'build', '--cache', f.cache, '-f', 'tar,kernel+initrd', '-d', out, spec],
    {
      env: { PATH: process.env['PATH'] ?? '', HOME: join(f.dir, 'home'), TMPDIR: tmp },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
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

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true }).catch(() => [] as string[])).sort();
}

void test('SIGKILL mid-build leaves nothing in TMPDIR; the next build sweeps its work directory; cache verify passes', async () => {
  await pushImage(
    f.host,
    'test/big2:1',
    await buildImage({ layers: [{ entries: [{ type: 'file', path: 'big', content: randomBytes(96 << 20) }] }] }),
  );
  const spec = await f.spec('big2.yml', 'kernel:\n  image: HOST/test/kernel:1\ninit:\n  - HOST/test/big2:1\n');
  const out = join(f.dir, 'out-kill');
  const tmp = join(f.dir, 'tmp-kill');
  await mkdir(out);
  await mkdir(tmp);
  const env = { PATH: process.env['PATH'] ?? '', HOME: join(f.dir, 'home'), TMPDIR: tmp };
  const work = join(f.cache, '.mobyts', 'work');
  const child = spawn(
    process.execPath,
    [join(REPO, 'bin/mobyts.js'), 'build', '--cache', f.cache, '-f', 'kernel+initrd', '-d', out, spec],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => void (stderr += c.toString()));
  const closed = new Promise<number | null>((res) =>
    child.once('close', (_code, signal) => res(signal === 'SIGKILL' ? -9 : _code)),
  );
  // Kill once the init image's segment is being written (its member is in the work directory).
  for (let i = 0; i < 600 && !(await filesUnder(work)).some((n) => n.endsWith('segment-1.member')); i++)
    await sleep(50);
  child.kill('SIGKILL');
  assert.equal(await closed, -9, `the build ended before it could be killed:\n${stderr}`);
  assert.deepEqual(await readdir(tmp), [], 'nothing in TMPDIR');
  assert.equal((await readdir(work)).length, 1, 'the killed build left its work directory under the cache');
  assert.deepEqual(await readdir(out), []);
  // What a build killed while writing an output leaves beside it (its temp file names its owner, now gone).
  const dead = spawn(process.execPath, ['-e', '0']);
  await new Promise((res) => dead.once('close', res));
  const leftover = `.big2-initrd.img.tmp-${dead.pid ?? 0}-12345-0123456789ab`;
  await writeFile(join(out, leftover), 'partial');
  const again = await runCli(['build', '--cache', f.cache, '-f', 'kernel+initrd', '-d', out, spec], {
    home: join(f.dir, 'home'),
    TMPDIR: tmp,
    cwd: f.dir,
  });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(await readdir(work), [], 'the next build swept it (and removed its own)');
  assert.deepEqual(await readdir(tmp), []);
  assert.deepEqual((await readdir(out)).sort(), ['big2-initrd.img', 'big2-kernel'], `${leftover} swept`);
  const verify = await runCli(['cache', 'verify', '--cache', f.cache], {
    home: join(f.dir, 'home'),
    TMPDIR: tmp,
    cwd: f.dir,
  });
  assert.equal(verify.code, 0, verify.stdout.toString());
  assert.match(verify.stdout.toString(), /: OK$/m);
});
