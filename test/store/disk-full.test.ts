/**
 * A full disk under the output directory, the cache and the cache's work area in turn, each a 1 MiB tmpfs mounted
 * here (the build writes a 2 MiB incompressible file): one error naming the path and "no space left", exit 1,
 * no partial output, a cache that still verifies, and after the file system is grown the next build
 * succeeds with the same bytes as a build that never ran out of space. Then a cache whose file system holds
 * the pulled images with little room to spare, so that it fills up while a `kernel+initrd` build stores its
 * sections and tables of contents: with the work area on it too, the same one error; with the work area on
 * its own file system, the caches are simply not kept (exit 0, no warning, the same bytes; docs/formats.md,
 * "the section cache"). The real CLI, the real registry.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildImage, pushImage } from '../helpers/images.ts';
import { runCli, startFixture, type Fixture, type RunEnv } from '../pipeline/fixture.ts';
import { tocDir } from '../../src/store/image-tocs.ts';
import { listSections, sectionsDir } from '../../src/store/sections.ts';
import { workArea } from '../../src/store/work.ts';

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
const counts = { faults: 0, builds: 0 };

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
  process.stdout.write(
    `# disk full: ${counts.faults} full file systems (faults injected), ${counts.builds} builds run\n`,
  );
});

function build(cache: string, outDir: string, e: RunEnv = {}, format = 'tar'): ReturnType<typeof runCli> {
  counts.builds++;
  return runCli(['build', '--cache', cache, '-f', format, '-d', outDir, spec], {
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
  assert.match(r.stderr, /\nhint: free space on that file system/);
}

async function tempLeft(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).filter((n) => /tmp|mobyts-/.test(n));
}

void test('the output directory fills up: one error, no partial output; after growing it the build succeeds', async (t) => {
  if (cannotMount !== undefined) return t.skip(cannotMount);
  const out = join(f.dir, 'out-small');
  await mkdir(out);
  mountTmpfs(out, '1m');
  counts.faults++;
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
  counts.faults++;
  const r = await build(cache, out);
  // Images are pulled in parallel, and the assembly starts while layers still download (docs/formats.md,
  // "Layers as the build needs them"): whichever write meets the full disk first is reported — a blob, the
  // index lock another pull takes meanwhile, or a work file of the assembly. All name a path in the cache and
  // carry the same hint.
  assertDiskFull(
    r,
    new RegExp(
      `^Cannot (store blob sha256:[0-9a-f]{64} in the cache "${cache}"|create the lock "${cache}/\\.mobyts/[^"/]+\\.lock"|write "${cache}/\\.mobyts/work/[^"]+"): `,
    ),
  );
  assert.match(r.stderr, /\nhint: free space on that file system/);
  assert.deepEqual(await readdir(out), []);
  assert.deepEqual(await readdir(join(cache, '.mobyts', 'tmp')), [], 'no partial blob left behind');
  assert.deepEqual(await readdir(join(cache, '.mobyts', 'work')).catch(() => []), [], 'no work files left');
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
  counts.faults++;
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

/** The files of a `kernel+initrd` build in `dir`, by name. */
async function outputs(dir: string): Promise<Map<string, Buffer>> {
  const names = (await readdir(dir)).sort();
  return new Map(await Promise.all(names.map(async (n) => [n, await readFile(join(dir, n))] as const)));
}

function assertSameOutputs(got: Map<string, Buffer>, want: Map<string, Buffer>): void {
  assert.deepEqual([...got.keys()], [...want.keys()]);
  for (const [n, b] of want) assert.ok(got.get(n)?.equals(b), `${n} is byte-identical to the build with room`);
}

let initrdGolden: { files: Map<string, Buffer>; stderr: string } | undefined;

/** What `-f kernel+initrd` makes from a cache with room, and what it says (built once, from the warm cache). */
async function kernelInitrdGolden(): Promise<{ files: Map<string, Buffer>; stderr: string }> {
  if (initrdGolden !== undefined) return initrdGolden;
  const dir = join(f.dir, 'golden-initrd');
  await mkdir(dir);
  const r = await build(warm, dir, {}, 'kernel+initrd');
  assert.equal(r.code, 0, r.stderr);
  initrdGolden = { files: await outputs(dir), stderr: r.stderr };
  assert.deepEqual([...initrdGolden.files.keys()], ['os-cmdline', 'os-initrd.img', 'os-kernel']);
  return initrdGolden;
}

const IMAGES = ['kernel', 'init', 'svc', 'big'].map((n) => `test/${n}:1`);

/** Bytes in use on the file system of `dir`. */
async function used(dir: string): Promise<number> {
  const s = await statfs(dir);
  return (s.blocks - s.bfree) * s.bsize;
}

/**
 * A cache on its own tmpfs holding the spec's images (`mobyts cache pull`), shrunk to what they take plus
 * `spare` bytes; `workMount` gives the work area its own roomy tmpfs. Returns the cache and its size in use.
 */
async function pulledCache(
  name: string,
  spare: number,
  workMount: boolean,
): Promise<{ cache: string; pulled: number }> {
  const cache = join(f.dir, name);
  await mkdir(cache);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0755', 'tmpfs', cache], { stdio: 'pipe' });
  mounts.push(cache);
  const r = await runCli(['cache', 'pull', '--cache', cache, ...IMAGES.map((i) => `${f.host}/${i}`)], {
    home: join(f.dir, 'home'),
  });
  assert.equal(r.code, 0, r.stderr);
  if (workMount) {
    await mkdir(workArea(cache), { recursive: true });
    mountTmpfs(workArea(cache), '64m');
  }
  const pulled = await used(cache);
  execFileSync('mount', ['-o', `remount,size=${pulled + spare}`, cache], { stdio: 'pipe' });
  counts.faults++;
  return { cache, pulled };
}

/** What a failed or fallen-back build may not leave: work directories, temp blobs, half-stored sections or TOCs. */
/** Once the cache's filesystem has room again, the same kernel+initrd build succeeds with the golden bytes. */
async function recoversWithRoom(cache: string, out: string, golden: Map<string, Buffer>): Promise<void> {
  grow(cache);
  // a build that succeeded on the full disk may have left the record that skips the same build again
  // (docs/formats.md#up-to-date): this one must do the work, to show that with room every cache is filled
  await rm(join(cache, '.mobyts', 'builds'), { recursive: true, force: true });
  const again = await build(cache, out, {}, 'kernel+initrd');
  assert.equal(again.code, 0, again.stderr);
  assertSameOutputs(await outputs(out), golden);
  assert.deepEqual(await leftovers(cache), []);
  await verifies(cache);
}

async function leftovers(cache: string): Promise<string[]> {
  const ls = async (d: string): Promise<string[]> =>
    (await readdir(d).catch(() => [] as string[])).map((n) => join(d, n));
  return [
    ...(await ls(workArea(cache))),
    ...(await ls(join(cache, '.mobyts', 'tmp'))),
    ...(await ls(sectionsDir(cache))).filter((p) => /\/\.tmp/.test(p)),
    ...(await ls(tocDir(cache))).filter((p) => /\/\.tmp/.test(p)),
    ...(await ls(join(cache, '.mobyts', 'builds'))).filter((p) => /\.tmp-/.test(p)),
  ];
}

/** Room for the leases, locks and small sections; far from enough for the 2 MiB section. */
const SPARE = 256 * 1024;

void test('the cache holds the pulled images but fills up while the build writes its sections: one error naming the work file, nothing partial; after growing it the build succeeds', async (t) => {
  if (cannotMount !== undefined) return t.skip(cannotMount);
  const golden = await kernelInitrdGolden();
  const { cache, pulled } = await pulledCache('cache-pulled', SPARE, false);
  t.diagnostic(`the pulled images take ${pulled} bytes; ${SPARE} spare`);
  const out = join(f.dir, 'out-pulled');
  await mkdir(out);
  const r = await build(cache, out, {}, 'kernel+initrd');
  assertDiskFull(r, new RegExp(`^Cannot write "${cache}/\\.mobyts/work/[^"]+": `));
  assert.deepEqual(await readdir(out), [], 'no partial output');
  assert.deepEqual(await leftovers(cache), [], 'no work directory, temp blob, half-stored section or TOC left');
  await verifies(cache);
  await recoversWithRoom(cache, out, golden.files);
});

void test('the cache holds the pulled images but fills up while the build stores its sections and TOCs, the work area elsewhere: exit 0, no warning, the same bytes; nothing partial kept', async (t) => {
  if (cannotMount !== undefined) return t.skip(cannotMount);
  const golden = await kernelInitrdGolden();
  const full = await listSections(warm);
  const fullTocs = (await readdir(tocDir(warm))).length;
  const { cache, pulled } = await pulledCache('cache-pulled-work', SPARE, true);
  t.diagnostic(
    `the pulled images take ${pulled} bytes; ${SPARE} spare; a build with room keeps ${full.entries} sections (${full.bytes} bytes) and ${fullTocs} TOCs`,
  );
  const out = join(f.dir, 'out-pulled-work');
  await mkdir(out);
  const r = await build(cache, out, {}, 'kernel+initrd');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, golden.stderr, 'no word more than a build with room: the caches are an optimisation');
  assertSameOutputs(await outputs(out), golden.files);
  const kept = await listSections(cache);
  assert.ok(kept.entries < full.entries, `the disk filled up: ${kept.entries} of ${full.entries} sections kept`);
  t.diagnostic(
    `on the full disk ${kept.entries} of ${full.entries} sections and ${(await readdir(tocDir(cache)).catch(() => [])).length} of ${fullTocs} TOCs were kept`,
  );
  assert.deepEqual(await leftovers(cache), [], 'no half-stored section or TOC, no work directory');
  await verifies(cache);
  await recoversWithRoom(cache, out, golden.files);
  assert.equal((await listSections(cache)).entries, full.entries, 'with room every section is kept');
  // every TOC a build with room keeps (the cache also has the TOCs `cache pull` made of every pulled layer)
  const tocsKept = new Set(await readdir(tocDir(cache)));
  assert.deepEqual(
    (await readdir(tocDir(warm))).filter((n) => !tocsKept.has(n)),
    [],
    'and every TOC',
  );
});
