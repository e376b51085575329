/**
 * The same build again, with nothing changed, stops at once (docs/formats.md#up-to-date), through the real CLI
 * and the real registry: its outputs are left as they are (same inode, same times); and each thing a build
 * depends on, changed, makes it build again: the spec, a `files:` source, an output, a flag, the image cache,
 * SOURCE_DATE_EPOCH, a host tool, the mobyts that made it. Specs from stdin are never skipped.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, SPEC_HEAD, startFixture, type Fixture } from './fixture.ts';
import { watchedBuild } from '../../src/pipeline/run.ts';
import { buildOptions } from '../../src/pipeline/options.ts';
import type { LoadedSpecs } from '../../src/spec/load.ts';

let f: Fixture;

const SPEC = `${SPEC_HEAD}services:
  - name: svc
    image: HOST/test/svc:1
files:
  - path: etc/motd
    contents: "hello"
  - path: etc/from-source
    source: data.txt
`;

const SKIPPED = 'Nothing changed since the last build:\n  utd-kernel utd-initrd.img utd-cmdline';
const OUTPUTS = ['utd-kernel', 'utd-initrd.img', 'utd-cmdline'];

before(async () => {
  f = await startFixture();
  await writeFile(join(f.dir, 'data.txt'), 'from a host file\n');
});
after(() => f.cleanup());

interface Run {
  skipped: boolean;
  stderr: string;
  initrd: Buffer;
}

/** `mobyts build -d out [FLAGS] utd.yml` in the fixture dir; whether it stopped as up to date, and the initrd. */
async function build(flags: string[] = [], env: Record<string, string> = {}): Promise<Run> {
  const r = await runCli(['build', '--cache', f.cache, '-d', 'out', ...flags, 'utd.yml'], {
    cwd: f.dir,
    home: join(f.dir, 'home'),
    env,
  });
  assert.equal(r.code, 0, r.stderr);
  const skipped = r.stderr.includes(SKIPPED);
  // a build either stops at once or does everything
  assert.equal(r.stderr.includes('Create outputs:'), !skipped, r.stderr);
  return { skipped, stderr: r.stderr, initrd: await readFile(join(f.dir, 'out', 'utd-initrd.img')) };
}

const identities = (): Promise<string[]> =>
  Promise.all(
    OUTPUTS.map(async (o) => {
      const s = await stat(join(f.dir, 'out', o), { bigint: true });
      return `${s.ino} ${s.mtimeNs} ${s.ctimeNs}`;
    }),
  );

void test('the same build again stops before any work and leaves the outputs as they are', async () => {
  await f.spec('utd.yml', SPEC);
  const first = await build();
  assert.equal(first.skipped, false);
  const before = await identities();
  const again = await build();
  assert.equal(again.skipped, true, again.stderr);
  // nothing else is printed: no image is read
  assert.equal(again.stderr.trim(), SKIPPED);
  assert.deepEqual(await identities(), before);
  assert.deepEqual(again.initrd, first.initrd);
});

void test('a changed spec, files: source, output, flag, cache or SOURCE_DATE_EPOCH builds again', async () => {
  await f.spec('utd.yml', SPEC);
  const base = await build();
  assert.equal((await build()).skipped, true);

  // the spec
  await f.spec('utd.yml', SPEC.replace('"hello"', '"hello again"'));
  const edited = await build();
  assert.equal(edited.skipped, false);
  assert.notDeepEqual(edited.initrd, base.initrd);
  await f.spec('utd.yml', SPEC);
  assert.equal((await build()).skipped, false);
  assert.equal((await build()).skipped, true);

  // a files: source, even with its size and modification time as before
  const data = join(f.dir, 'data.txt');
  const old = await stat(data);
  await writeFile(data, 'FROM A HOST FILE\n');
  await utimes(data, old.atime, old.mtime);
  const changed = await build();
  assert.equal(changed.skipped, false);
  assert.ok(changed.initrd.length > 0);
  await writeFile(data, 'from a host file\n');
  const restored = await build();
  assert.equal(restored.skipped, false);
  assert.deepEqual(restored.initrd, base.initrd);

  // an output damaged, or removed: written again, as the first build wrote it
  await appendFile(join(f.dir, 'out', 'utd-initrd.img'), 'x');
  const repaired = await build();
  assert.equal(repaired.skipped, false);
  assert.deepEqual(repaired.initrd, base.initrd);
  await rm(join(f.dir, 'out', 'utd-cmdline'));
  assert.equal((await build()).skipped, false);
  assert.equal(await readFile(join(f.dir, 'out', 'utd-cmdline'), 'utf8'), 'console=ttyS0');

  // another flag is another build (and each keeps its own record)
  const uncompressed = await build(['--compress', 'none']);
  assert.equal(uncompressed.skipped, false);
  assert.notDeepEqual(uncompressed.initrd, base.initrd);
  assert.equal((await build(['--compress', 'none'])).skipped, true);
  assert.equal((await build()).skipped, false); // the outputs are not the ones the gzip build recorded
  assert.equal((await build()).skipped, true);

  // the image cache: a pull names another image in it
  const pulled = await runCli(['cache', 'pull', '--cache', f.cache, `${f.host}/test/data:1`], {
    cwd: f.dir,
    home: join(f.dir, 'home'),
  });
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.equal((await build()).skipped, false);

  // SOURCE_DATE_EPOCH: the same arguments, another build
  assert.equal((await build([], { SOURCE_DATE_EPOCH: '1234567890' })).skipped, false);
  assert.equal((await build([], { SOURCE_DATE_EPOCH: '1234567890' })).skipped, true);
});

void test('a host tool the format runs, replaced (as a package upgrade does), builds again', async () => {
  await f.spec('utd.yml', SPEC);
  const bin = join(f.dir, 'tools');
  await mkdir(bin, { recursive: true });
  const xorriso = join(bin, 'xorriso');
  const wrapper = '#!/bin/sh\nexec /usr/bin/xorriso "$@"\n';
  await writeFile(xorriso, wrapper, { mode: 0o755 });
  const env = { PATH: `${bin}:${process.env['PATH'] ?? ''}` };
  const iso = ['-f', 'kernel+initrd,iso-bios'];
  assert.equal((await build(iso, env)).skipped, false);
  assert.equal((await build(iso, env)).skipped, true);
  await rm(xorriso);
  await writeFile(xorriso, wrapper, { mode: 0o755 });
  assert.equal((await build(iso, env)).skipped, false);
  assert.equal((await build(iso, env)).skipped, true);
});

void test('a record written by another mobyts, or damaged, is not trusted: the build runs and writes it anew', async () => {
  await f.spec('utd.yml', SPEC);
  await build();
  assert.equal((await build()).skipped, true);
  const dir = join(f.cache, '.mobyts', 'builds');
  const stamps = (await readdir(dir)).filter((n) => n.endsWith('.json'));
  for (const s of stamps) {
    const p = join(dir, s);
    const record = JSON.parse(await readFile(p, 'utf8')) as { code: string };
    await writeFile(p, JSON.stringify({ ...record, code: 'another mobyts' }));
  }
  assert.equal((await build()).skipped, false);
  assert.equal((await build()).skipped, true);
  for (const damaged of [
    '{"format": 1, "outp',
    '{"format": 1}',
    'null',
    '{"format": 1, "outputs": [{}], "specs": 3}',
  ]) {
    for (const s of stamps) await writeFile(join(dir, s), damaged);
    assert.equal((await build()).skipped, false, damaged);
    assert.equal((await build()).skipped, true, damaged);
  }
});

void test('a spec read from stdin, --pull and -o are never skipped', async () => {
  await f.spec('utd.yml', SPEC);
  for (let i = 0; i < 2; i++) {
    const r = await runCli(['build', '--cache', f.cache, '-d', 'out', '-n', 'utd', '-'], {
      cwd: f.dir,
      home: join(f.dir, 'home'),
      stdin: await readFile(join(f.dir, 'utd.yml')),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stderr.includes('Create outputs:'), r.stderr);
  }
  for (let i = 0; i < 2; i++) {
    const r = await runCli(['build', '--cache', f.cache, '-f', 'tar', '-o', 'utd.tar', 'utd.yml'], {
      cwd: f.dir,
      home: join(f.dir, 'home'),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stderr.includes('Create outputs:\n  utd.tar'), r.stderr);
  }
  await build();
  assert.equal((await build(['--pull'])).skipped, false);
  assert.equal((await build(['--pull'])).skipped, false);
});

void test('trust: and @pkg: templates make a build that is never skipped', () => {
  const loaded = (text: string, spec: LoadedSpecs['spec']): LoadedSpecs => ({
    spec,
    issues: [],
    name: 'x',
    sources: [{ input: 'x.yml', file: 'x.yml', text, baseDir: f.dir }],
  });
  const opts = buildOptions();
  const plain = watchedBuild(['x.yml'], loaded('files: []', { files: [] }), opts);
  assert.equal(plain.unstampable, false);
  const trusted = watchedBuild(['x.yml'], loaded('trust: …', { trust: { org: ['linuxkit'] } }), opts);
  assert.equal(trusted.unstampable, true);
  const pkg = watchedBuild(['x.yml'], loaded('image: "@pkg:./pkg/svc"', {}), opts);
  assert.equal(pkg.unstampable, true);
  const sourced = watchedBuild(
    ['x.yml'],
    loaded('files:\n  - path: etc/a\n    source: a.txt\n  - path: etc/b\n    contents: b\n', {
      files: [
        { path: 'etc/a', source: 'a.txt' },
        { path: 'etc/b', contents: 'b' },
      ],
    }),
    buildOptions({ locked: '' }),
  );
  assert.deepEqual(sourced.sources, [join(f.dir, 'a.txt')]);
  assert.equal(sourced.lockfile, 'x.yml.lock');
});
