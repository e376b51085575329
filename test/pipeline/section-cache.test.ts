/**
 * The section cache through the real CLI: a build from an empty section cache and one from a full cache give
 * the same initrd bytes; nothing changed → nothing compressed; one `files:` entry changed → one section
 * compressed; a damaged member is rebuilt (never shipped), and so is a damaged kernel or microcode (checked as
 * they are copied out of the cache, not read into memory first); a cache whose section directory cannot be made
 * still builds; `cache ls` / `cache clean` show and evict sections. Counts come from the `-v 2` debug lines.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { debugBuild, runCli, segmentIds, startFixture, UCODE, type Fixture } from './fixture.ts';

let f: Fixture;

const SPEC = `
kernel:
  image: HOST/test/kernel:1
  cmdline: "console=ttyS0"
init:
  - HOST/test/init:1
  - HOST/test/init2:1
onboot:
  - name: one
    image: HOST/test/svc:1
services:
  - name: svc
    image: HOST/test/svc:1
volumes:
  - name: volb
    image: HOST/test/data:1
files:
  - path: etc/mobyts/config
    contents: "hello"
    mode: "0644"
  - path: etc/from-source
    source: data.txt
`;

before(async () => {
  f = await startFixture();
  await writeFile(join(f.dir, 'data.txt'), 'from a host file\n');
});
after(() => f.cleanup());

interface Built {
  initrd: Buffer;
  compressed: string[];
  reused: string[];
  stderr: string;
}

async function build(name: string, opts: { cache?: string; formats?: string; spec?: string } = {}): Promise<Built> {
  const out = join(f.dir, name);
  const spec = opts.spec ?? join(f.dir, 'sc.yml');
  const r = await debugBuild(f, { cache: opts.cache ?? f.cache, out, spec, formats: opts.formats });
  assert.equal(r.code, 0, r.stderr);
  return {
    initrd: await readFile(join(out, 'sc-initrd.img')),
    compressed: segmentIds(r.stderr, 'compressed'),
    reused: segmentIds(r.stderr, 'reused'),
    stderr: r.stderr,
  };
}

const ALL = ['kernel', 'init[0]', 'init[1]', 'volume[0]', 'onboot[0]', 'services[0]', 'files', 'trailer'];

void test('empty section cache, then from it: same bytes; nothing changed compresses nothing; the initrd reads as one cpio', async () => {
  await f.spec('sc.yml', SPEC);
  const first = await build('sc-1');
  assert.deepEqual(first.compressed, ALL);
  assert.deepEqual(first.reused, []);
  const second = await build('sc-2');
  assert.deepEqual(second.compressed, []);
  assert.deepEqual(second.reused, ALL);
  assert.ok(second.initrd.equals(first.initrd), 'same initrd bytes from the section cache');
  assert.match(second.stderr, /^Extract kernel image: /m);
  const names = execFileSync('sh', ['-c', 'gzip -dc sc-initrd.img | cpio -it --quiet'], { cwd: join(f.dir, 'sc-2') })
    .toString()
    .trim()
    .split('\n');
  assert.ok(
    names.includes('etc/mobyts/config') &&
      names.includes('containers/services/svc/config.json') &&
      names.includes('containers/volumes/volb/merged'),
    names.join(' '),
  );
  assert.equal(new Set(names).size, names.length, 'one entry per path');
  // The tar-based path (a format that needs the filesystem tar) derives the same initrd, with the same keys.
  const viaTar = await build('sc-tar', { formats: 'kernel+initrd,tar' });
  assert.deepEqual(viaTar.compressed, []);
  assert.ok(viaTar.initrd.equals(first.initrd));
});

void test('one files: entry changed: one section compressed, same bytes as from an empty section cache', async () => {
  await f.spec('sc.yml', SPEC);
  await build('sc-warm');
  await writeFile(join(f.dir, 'data.txt'), 'changed contents\n');
  try {
    const changed = await build('sc-changed');
    assert.deepEqual(changed.compressed, ['files']);
    const fresh = await build('sc-fresh', { cache: join(f.dir, 'cache-fresh') });
    assert.deepEqual(fresh.compressed, ALL);
    assert.ok(changed.initrd.equals(fresh.initrd), 'a rebuild from the cache equals a build from nothing');
    const data = execFileSync('sh', ['-c', 'gzip -dc sc-initrd.img | cpio -i --quiet --to-stdout etc/from-source'], {
      cwd: join(f.dir, 'sc-changed'),
    }).toString();
    assert.equal(data, 'changed contents\n');
  } finally {
    await writeFile(join(f.dir, 'data.txt'), 'from a host file\n');
  }
});

void test("the output's previous initrd: kept when it holds the same bytes, reused up to the first changed section, rewritten where it differs", async () => {
  await f.spec('sc.yml', SPEC);
  const out = join(f.dir, 'sc-again');
  const initrd = join(out, 'sc-initrd.img');
  const first = await build('sc-again');
  const before = await stat(initrd);
  await new Promise((resolve) => setTimeout(resolve, 20));
  // without the record that stops the same build at once (docs/formats.md#up-to-date), as after `cache clean` or a
  // mobyts upgrade; the builds below each change an input or the output, so they run in full anyway
  await rm(join(f.cache, '.mobyts', 'builds'), { recursive: true, force: true });
  const same = await build('sc-again');
  // what the file holds is known from the last build's record of it (docs/formats.md#writing-the-initrd)
  assert.match(
    same.stderr,
    /sc-initrd\.img: already holds this initrd, kept \(known from the last build, not read\)$/m,
  );
  const after = await stat(initrd);
  assert.equal(after.ino, before.ino, 'not rewritten');
  assert.ok(after.mtimeMs > before.mtimeMs, 'its times set as a write would (make compares them)');
  assert.ok(same.initrd.equals(first.initrd));

  await writeFile(join(f.dir, 'data.txt'), 'changed again\n');
  try {
    const changed = await build('sc-again');
    // Every member before the files section came from the previous file; the files member and the ones after it were
    // written.
    assert.match(
      changed.stderr,
      /sc-initrd\.img: written, 6 parts \(\d+ bytes\) of the previous file reused \(known from the last build, not read\)$/m,
    );
    assert.notEqual((await stat(initrd)).ino, after.ino, 'a new file renamed into place');
    const fresh = await build('sc-again-fresh', { cache: join(f.dir, 'cache-again-fresh') });
    assert.ok(changed.initrd.equals(fresh.initrd), 'the same bytes as a build from nothing');

    // A previous file damaged in its first member (or cut short) since is read, and not trusted there: written from
    // the parts.
    const damaged = Buffer.from(fresh.initrd);
    damaged[100] = (damaged[100] ?? 0) ^ 0xff;
    await writeFile(initrd, damaged);
    const repaired = await build('sc-again');
    assert.match(repaired.stderr, /sc-initrd\.img: written, 0 parts \(0 bytes\) of the previous file reused$/m);
    assert.ok(repaired.initrd.equals(fresh.initrd));
    await writeFile(initrd, fresh.initrd.subarray(0, fresh.initrd.length - 1));
    const cut = await build('sc-again');
    assert.match(cut.stderr, /sc-initrd\.img: written, 8 parts \(\d+ bytes\) of the previous file reused$/m);
    assert.ok(cut.initrd.equals(fresh.initrd));
    assert.deepEqual(
      (await readdir(out)).filter((n) => n.startsWith('.')),
      [],
      'no temporary file left beside the outputs',
    );
  } finally {
    await writeFile(join(f.dir, 'data.txt'), 'from a host file\n');
  }
});

void test('a damaged member is detected by its digest, removed and rebuilt: the initrd is the good one', async () => {
  await f.spec('sc.yml', SPEC);
  const good = await build('sc-good');
  const dir = join(f.cache, '.mobyts', 'sections');
  const keys = (await readdir(dir)).filter((k) => /^[0-9a-f]{64}$/.test(k));
  assert.ok(keys.length >= ALL.length);
  for (const k of keys) {
    const member = join(dir, k, 'member');
    const b = await readFile(member);
    const at = Math.floor(b.length / 2);
    b[at] = (b[at] ?? 0) ^ 0xff;
    await writeFile(member, b);
  }
  const rebuilt = await build('sc-rebuilt');
  assert.deepEqual(rebuilt.compressed, ALL);
  assert.match(
    rebuilt.stderr,
    /^Warning: The section cache entry [0-9a-f]{12} is damaged \(its member does not match its digest\): removed, the section is built again$/m,
  );
  assert.ok(rebuilt.initrd.equals(good.initrd));
  assert.deepEqual((await build('sc-after')).compressed, [], 'the rebuilt members are cached again');
});

void test('the kernel and microcode kept in the section cache are checked as they are copied out: a damaged one is removed and made again, never shipped', async () => {
  await f.spec(
    'sc.yml',
    SPEC.replace('  cmdline: "console=ttyS0"\n', '  cmdline: "console=ttyS0"\n  ucode: intel-ucode.cpio\n'),
  );
  const cache = join(f.dir, 'cache-kernel-blobs');
  const good = await build('sc-kblob', { cache });
  const shipped = (name: string, file: string): Promise<Buffer> => readFile(join(f.dir, name, `sc-${file}`));
  assert.equal((await shipped('sc-kblob', 'initrd.img')).subarray(0, UCODE.length).toString(), UCODE);
  const dir = join(cache, '.mobyts', 'sections');
  const entries: string[] = [];
  for (const k of await readdir(dir)) if ((await readdir(join(dir, k))).includes('blob-kernel')) entries.push(k);
  assert.equal(entries.length, 1);
  const entry = entries[0] ?? '';
  for (const blob of ['kernel', 'ucode']) {
    for (const [how, damage, why] of [
      ['flipped', (b: Buffer) => Buffer.from(b.map((x, i) => (i === 3 ? x ^ 0xff : x))), 'does not match its digest'],
      ['truncated', (b: Buffer) => b.subarray(1), 'does not have its recorded size'],
    ] as const) {
      const file = join(dir, entry, `blob-${blob}`);
      await writeFile(file, damage(await readFile(file)));
      const name = `sc-kblob-${blob}-${how}`;
      const rebuilt = await build(name, { cache });
      const warning = `Warning: The section cache entry ${entry.slice(0, 12)} is damaged (its ${blob} ${why}): removed, the section is built again`;
      assert.ok(rebuilt.stderr.split('\n').includes(warning), rebuilt.stderr);
      assert.deepEqual(rebuilt.compressed, ['kernel'], name);
      for (const out of ['kernel', 'initrd.img'])
        assert.ok((await shipped(name, out)).equals(await shipped('sc-kblob', out)), `${name}: the good ${out}`);
      assert.ok(rebuilt.initrd.equals(good.initrd));
      assert.deepEqual((await build(`${name}-after`, { cache })).compressed, [], 'kept again');
    }
  }
});

void test('a cache whose section directory cannot be created still builds, without caching', async () => {
  await f.spec('sc.yml', SPEC);
  const good = await build('sc-ref');
  const cache = join(f.dir, 'cache-nosections');
  await build('sc-fill', { cache });
  await rm(join(cache, '.mobyts', 'sections'), { recursive: true, force: true });
  await writeFile(join(cache, '.mobyts', 'sections'), 'not a directory');
  for (const name of ['sc-ro-1', 'sc-ro-2']) {
    const b = await build(name, { cache });
    assert.deepEqual(b.compressed, ALL);
    assert.ok(b.initrd.equals(good.initrd));
  }
});

void test("init images: their tables of contents are planned from their layers' ones (made by the pull), kept outside the section cache, remade when damaged", async () => {
  await f.spec('sc.yml', SPEC);
  const cache = join(f.dir, 'cache-tocs');
  const tocs = (b: Built, how: string): string[] =>
    [...b.stderr.matchAll(new RegExp(`^init\\[(\\d)\\] (table of contents|symlinks): ${how}`, 'gm'))]
      .map((m) => `${m[2] ?? ''} ${m[1] ?? ''}`)
      .sort(); // read concurrently
  const BOTH = ['symlinks 0', 'symlinks 1', 'table of contents 0', 'table of contents 1'];
  // One pass over each init image's layers makes both of its tables of contents.
  const LISTED = ['table of contents 0', 'table of contents 1'];
  const first = await build('toc-1', { cache });
  assert.deepEqual(tocs(first, "planned from the layers' tables of contents, \\d+ paths"), LISTED);
  assert.deepEqual(tocs(first, 'from the cache'), ['symlinks 0', 'symlinks 1']);
  // the pull made each layer's TOC from its bytes on their way in: no layer is read to plan
  assert.doesNotMatch(first.stderr, /^layer sha256:\S+ table of contents: read from the layer/m);
  const dir = join(cache, '.mobyts', 'toc');
  const files = (await readdir(dir)).filter((n) => /^[0-9a-f]{64}\.json$/.test(n));
  const layerTocs = await Promise.all(
    files.map(async (n) => (await readFile(join(dir, n), 'utf8')).includes('"rows":')),
  );
  // two per init image and the kernel's embedded config (test/pipeline/kernel-check.test.ts), and one per
  // layer of every image pulled
  assert.equal(layerTocs.filter((l) => !l).length, 5);
  assert.ok(layerTocs.filter((l) => l).length >= 2, `${layerTocs.filter((l) => l).length} layer TOCs`);
  // Nothing changed: no layer of an init image is read.
  const again = await build('toc-again', { cache });
  assert.deepEqual(again.compressed, []);
  assert.deepEqual(tocs(again, 'from the cache'), BOTH);
  // The section cache emptied: every section is compressed again, but no init layer is read to plan.
  await rm(join(cache, '.mobyts', 'sections'), { recursive: true, force: true });
  const second = await build('toc-2', { cache });
  assert.deepEqual(second.compressed, ALL);
  assert.deepEqual(tocs(second, 'from the cache'), BOTH);
  assert.deepEqual(tocs(second, 'planned from'), []);
  assert.ok(second.initrd.equals(first.initrd));
  // A TOC that does not match its digest counts as absent: made again (the layers' ones from the layers), same
  // bytes.
  for (const name of files) {
    const file = join(dir, name);
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace(/\n\[*\{?"?/, (m) => `${m}x`),
    );
  }
  await rm(join(cache, '.mobyts', 'sections'), { recursive: true, force: true });
  const third = await build('toc-3', { cache });
  assert.deepEqual(tocs(third, "planned from the layers' tables of contents, \\d+ paths"), LISTED);
  assert.match(third.stderr, /^layer sha256:\S+ table of contents: read from the layer, \d+ entries/m);
  assert.deepEqual(tocs(third, 'from the cache'), ['symlinks 0', 'symlinks 1']);
  assert.ok(third.initrd.equals(first.initrd));
  const clean = await runCli(['cache', 'clean', '--cache', cache], { cwd: f.dir, home: join(f.dir, 'home') });
  assert.equal(clean.code, 0, clean.stderr);
  assert.deepEqual(await readdir(join(cache, '.mobyts')).then((n) => n.includes('toc')), false);
});

void test('cache ls shows the sections, cache clean evicts them', async () => {
  await f.spec('sc.yml', SPEC);
  await build('sc-ls');
  const home = join(f.dir, 'home');
  const ls = await runCli(['cache', 'ls', '--cache', f.cache], { cwd: f.dir, home });
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(
    ls.stdout.toString(),
    /^Initrd sections: \d+ \([\d.]+ [KM]i?B\), reused by the next builds; `mobyts cache clean` removes them$/m,
  );
  const clean = await runCli(['cache', 'clean', '--cache', f.cache], { cwd: f.dir, home });
  assert.equal(clean.code, 0, clean.stderr);
  assert.match(clean.stdout.toString(), /^Removed \d+ initrd sections, freed /m);
  assert.deepEqual(await readdir(join(f.cache, '.mobyts', 'sections')), []);
});
