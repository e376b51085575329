/**
 * A cache that cannot be written, through the real CLI
 * (docs/formats.md#the-initrd-one-member-per-section-and-the-section-cache). Read-only means read-only for root
 * too: as root (how the tests run) the directory is a tmpfs remounted `ro`; otherwise `chmod -R a-w`.
 *
 * - Only the section cache read-only (empty, or filled before): the build works, with the bytes of a build in a
 *   writable cache, reusing what is there and storing nothing, and leaves nothing in TMPDIR.
 * - The whole cache read-only, every image and section in it: the build reads it without the index lock or a
 *   lease (nothing can write or clean it), reuses every section, gives the same bytes, changes nothing in the
 *   cache and leaves nothing in TMPDIR.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { debugBuild, segmentIds, SPEC_HEAD, startFixture, type CliResult, type Fixture } from './fixture.ts';

const ROOT = process.getuid?.() === 0;

const SPEC = `${SPEC_HEAD}onboot:
  - name: one
    image: HOST/test/svc:1
services:
  - name: svc
    image: HOST/test/svc:1
files:
  - path: etc/mobyts/config
    contents: "hello"
    mode: "0644"
`;

const SECTIONS = ['kernel', 'init[0]', 'onboot[0]', 'services[0]', 'files', 'trailer'];

let f: Fixture;
const mounts: string[] = [];

before(async () => {
  f = await startFixture();
  await f.spec('ro.yml', SPEC);
});
after(async () => {
  for (const m of mounts.reverse()) execFileSync('umount', [m]);
  if (!ROOT) execFileSync('chmod', ['-R', 'u+w', f.dir]);
  await f.cleanup();
});

/** An empty directory at `dir` that `readOnly(dir)` can make read-only for this user (root included). */
async function writableForNow(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (!ROOT) return;
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0755', 'tmpfs', dir]);
  mounts.push(dir);
}

function readOnly(dir: string): void {
  if (ROOT) execFileSync('mount', ['-o', 'remount,ro', dir]);
  else execFileSync('chmod', ['-R', 'a-w', dir]);
}

interface Built {
  r: CliResult;
  out: string;
  tmp: string;
  segments: (what: string) => string[];
}

async function build(name: string, cache: string): Promise<Built> {
  const out = join(f.dir, name);
  const tmp = join(f.dir, `${name}-tmp`);
  await mkdir(tmp, { recursive: true });
  const r = await debugBuild(f, { cache, out, spec: join(f.dir, 'ro.yml'), env: { TMPDIR: tmp } });
  return { r, out, tmp, segments: (what) => segmentIds(r.stderr, what) };
}

async function outputs(b: Built): Promise<Buffer[]> {
  assert.equal(b.r.code, 0, b.r.stderr);
  return Promise.all(['ro-kernel', 'ro-initrd.img', 'ro-cmdline'].map((n) => readFile(join(b.out, n))));
}

/** Every path under `dir` with its size and mtime: what a build could have changed. */
async function tree(dir: string): Promise<string[]> {
  const names = await readdir(dir, { recursive: true });
  const rows = await Promise.all(
    names.map(async (n) => {
      const s = await stat(join(dir, n));
      return `${n} ${s.size} ${s.mtimeMs}`;
    }),
  );
  return rows.sort();
}

/** The build's warnings and errors: the lines a user reads without -v. */
const alarming = (stderr: string): string[] =>
  stderr.split('\n').filter((l) => /^(Warning|Error)/.test(l) && !/extended attributes|Cannot check kernel/.test(l));

let reference: Buffer[];

/**
 * A build from `cache` whose read-only part `frozen` (the section cache, or the whole cache) holds every
 * section: the reference bytes, every section reused and none compressed, no warning, `frozen` as it was
 * (`kept`: no lock, lease, stamp or work file) and nothing left in TMPDIR.
 */
async function replayedReadOnly(name: string, cache: string, frozen: string, kept: string[]): Promise<void> {
  const b = await build(name, cache);
  assert.deepEqual(await outputs(b), reference);
  assert.deepEqual(b.segments('reused'), SECTIONS);
  assert.deepEqual(b.segments('compressed'), []);
  assert.deepEqual(alarming(b.r.stderr), []);
  assert.deepEqual(await tree(frozen), kept, 'nothing read-only changed');
  assert.deepEqual(await readdir(b.tmp), [], 'nothing left in TMPDIR');
}

void test('reference: a build in a writable cache', async () => {
  reference = await outputs(await build('ref', f.cache));
});

void test('a read-only section cache, empty: the build compresses every section, stores none, same bytes', async () => {
  const cache = join(f.dir, 'cache-ro-empty');
  const sections = join(cache, '.mobyts', 'sections');
  await writableForNow(sections);
  readOnly(sections);
  for (const name of ['ro-empty-1', 'ro-empty-2']) {
    const b = await build(name, cache);
    assert.deepEqual(await outputs(b), reference);
    assert.deepEqual(b.segments('compressed'), SECTIONS);
    assert.deepEqual(b.segments('reused'), []);
    assert.deepEqual(alarming(b.r.stderr), []);
    assert.deepEqual(await readdir(sections), [], 'nothing stored');
    assert.deepEqual(await readdir(b.tmp), [], 'nothing left in TMPDIR');
    assert.deepEqual(await readdir(join(cache, '.mobyts', 'work')), [], 'no work directory left');
  }
});

void test('a read-only section cache, filled before: every section reused, same bytes, nothing changed', async () => {
  const cache = join(f.dir, 'cache-ro-full');
  const sections = join(cache, '.mobyts', 'sections');
  await writableForNow(sections);
  const fill = await build('ro-fill', cache);
  assert.deepEqual(await outputs(fill), reference);
  assert.deepEqual(fill.segments('compressed'), SECTIONS);
  readOnly(sections);
  const kept = await tree(sections);
  await replayedReadOnly('ro-full', cache, sections, kept);
});

void test('a read-only cache directory, every image and section in it: the build reads it without locks or a lease, every section reused, same bytes, nothing changed', async () => {
  const cache = join(f.dir, 'cache-ro');
  await writableForNow(cache);
  const fill = await build('ro-all-fill', cache);
  assert.deepEqual(await outputs(fill), reference);
  readOnly(cache);
  const kept = await tree(cache);
  for (const name of ['ro-all-1', 'ro-all-2']) await replayedReadOnly(name, cache, cache, kept);
});
