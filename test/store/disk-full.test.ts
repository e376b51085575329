/**
 * A full disk under the output directory, the cache and the cache's work area in turn, each a 1 MiB tmpfs mounted
 * here (the build writes a 2 MiB incompressible file): one error naming the path and "no space left", exit 1,
 * no partial output, a cache that still verifies, and after the file system is grown the next build
 * succeeds with the same bytes as a build that never ran out of space. The real CLI, the real registry.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildImage, pushImage } from '../helpers/images.ts';
import { runCli, startFixture, type Fixture, type RunEnv } from '../pipeline/fixture.ts';

const SPEC = `
kernel:
  image: HOST/test/kernel:1
  cmdline: "console=ttyS0"
init:
  - HOST/test/init:1
onboot:
  - name: one
    image: HOST/test/svc:1
services:
  - name: big
    image: HOST/test/big:1
`;

let f: Fixture;
let spec: string;
let warm: string;
let golden: Buffer;
const mounts: string[] = [];
let cannotMount: string | undefined;

function mountTmpfs(dir: string, size: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  mounts.push(dir);
}

function grow(dir: string): void {
  execFileSync('mount', ['-o', 'remount,size=64m', dir], { stdio: 'pipe' });
}

before(async () => {
  f = await startFixture();
  await pushImage(
    f.host,
    'test/big:1',
    await buildImage({
      layers: [
        {
          entries: [
            { type: 'dir', path: 'big' },
            { type: 'file', path: 'big/random', content: randomBytes(2 << 20), mtime: 1700000000 },
          ],
        },
      ],
    }),
  );
  spec = await f.spec('os.yml', SPEC);
  warm = join(f.dir, 'warm');
  await mkdir(join(f.dir, 'golden'));
  const r = await build(warm, join(f.dir, 'golden'));
  assert.equal(r.code, 0, r.stderr);
  golden = await readFile(join(f.dir, 'golden', 'os.tar'));
  assert.ok(golden.length > 2 << 20);
  const probe = join(f.dir, 'probe');
  await mkdir(probe);
  try {
    mountTmpfs(probe, '1m');
  } catch (err) {
    cannotMount = `cannot mount a tmpfs here (${(err as { stderr?: Buffer }).stderr?.toString().trim() ?? String(err)})`;
  }
});
after(async () => {
  for (const m of mounts.reverse()) execFileSync('umount', [m]);
  await f.cleanup();
});

function build(cache: string, outDir: string, e: RunEnv = {}): ReturnType<typeof runCli> {
  return runCli(['build', '--cache', cache, '-f', 'tar', '-d', outDir, spec], {
    cwd: f.dir,
    home: join(f.dir, 'home'),
    ...e,
  });
}

async function verifies(cache: string): Promise<void> {
  const r = await runCli(['cache', 'verify', '--cache', cache], { home: join(f.dir, 'home') });
  assert.equal(r.code, 0, r.stdout.toString());
  assert.match(r.stdout.toString(), /^Checked \d+ blobs \(.*\) and \d+ images: OK\n$/);
}

/** Exactly one error, exit 1, no stack, naming `path` and ENOSPC. */
function assertDiskFull(r: { code: number | null; stderr: string }, path: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr.match(/^Error: /gm)?.length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  const line = /^Error: (.*)$/m.exec(r.stderr)?.[1] ?? '';
  assert.match(line, path);
  assert.match(line, /ENOSPC: no space left on device$/);
}

async function tempLeft(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).filter((n) => /tmp|mobyts-/.test(n));
}

void test('the output directory fills up: one error, no partial output; after growing it the build succeeds', async (t) => {
  if (cannotMount !== undefined) return t.skip(cannotMount);
  const out = join(f.dir, 'out-small');
  await mkdir(out);
  mountTmpfs(out, '1m');
  const r = await build(warm, out);
  assertDiskFull(r, new RegExp(`^Cannot write "${out}/os\\.tar": `));
  assert.deepEqual(await readdir(out), [], 'no output and no temp file left');
  await verifies(warm);
  grow(out);
  const again = await build(warm, out);
  assert.equal(again.code, 0, again.stderr);
  assert.ok((await readFile(join(out, 'os.tar'))).equals(golden));
});

void test('the cache fills up while pulling: one error naming the cache, nothing partial in it; after growing it the build succeeds', async (t) => {
  if (cannotMount !== undefined) return t.skip(cannotMount);
  const cache = join(f.dir, 'cache-small');
  const out = join(f.dir, 'out-cache');
  await mkdir(cache);
  await mkdir(out);
  mountTmpfs(cache, '1m');
  const r = await build(cache, out);
  // Images are pulled in parallel: whichever write meets the full disk first is reported — a blob, or the
  // index lock another pull takes meanwhile. Both name a path in the cache and carry the same hint.
  assertDiskFull(
    r,
    new RegExp(
      `^Cannot (store blob sha256:[0-9a-f]{64} in the cache "${cache}"|create the lock "${cache}/\\.mobyts/[^"/]+\\.lock"): `,
    ),
  );
  assert.match(r.stderr, /\nhint: free space on that file system/);
  assert.deepEqual(await readdir(out), []);
  assert.deepEqual(await readdir(join(cache, '.mobyts', 'tmp')), [], 'no partial blob left behind');
  await verifies(cache);
  grow(cache);
  const again = await build(cache, out);
  assert.equal(again.code, 0, again.stderr);
  assert.ok((await readFile(join(out, 'os.tar'))).equals(golden));
  await verifies(cache);
});

void test('the work area fills up: one error naming the file, no partial output, no work files left; after growing it the build succeeds', async (t) => {
  if (cannotMount !== undefined) return t.skip(cannotMount);
  // A build keeps its work files in the cache's work area, not in TMPDIR (docs/formats.md, "Work files").
  const work = join(warm, '.mobyts', 'work');
  const out = join(f.dir, 'out-work');
  await mkdir(work, { recursive: true });
  await mkdir(out);
  mountTmpfs(work, '1m');
  const r = await build(warm, out);
  assertDiskFull(r, new RegExp(`^Cannot write "${work}/`));
  assert.deepEqual(await readdir(out), []);
  assert.deepEqual(await tempLeft(work), [], 'the work directory is removed');
  await verifies(warm);
  grow(work);
  const again = await build(warm, out);
  assert.equal(again.code, 0, again.stderr);
  assert.ok((await readFile(join(out, 'os.tar'))).equals(golden));
});
