/**
 * A cache damaged on disk, through the real CLI and the real registry: a flipped byte in a layer blob, a
 * truncated manifest, a missing blob the index still names, a garbage index.json. Each is found before the
 * build reads the bytes; with the registry reachable the damaged blob is fetched again (the user sees
 * `re-pulled sha256:…: the cached copy was damaged`) and the output is byte-identical to a build from a good
 * cache; offline the build exits 1 naming the digest (or the index file) with the `cache rm`/`cache verify`
 * hint, and writes nothing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { open, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ImageIndex, ImageManifest } from '../../src/oci/types.ts';
import { REF_NAME_ANNOTATION } from '../../src/oci/types.ts';
import { runCli, startFixture, type Fixture } from '../pipeline/fixture.ts';

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
  - name: data
    image: HOST/test/data:1
`;

let f: Fixture;
let spec: string;
let pristine: string;
let golden: Buffer;
let n = 0;
const counts = { faults: 0, builds: 0, repulled: 0 };

before(async () => {
  f = await startFixture();
  spec = await f.spec('os.yml', SPEC);
  pristine = join(f.dir, 'pristine');
  const r = await build(pristine, join(f.dir, 'golden.tar'));
  assert.equal(r.code, 0, r.stderr);
  golden = await readFile(join(f.dir, 'golden.tar'));
});
after(async () => {
  await f.cleanup();
  process.stdout.write(
    `# damaged cache: ${counts.faults} damages injected (${DAMAGES.length} kinds, online and offline), ${counts.builds} builds run, ${counts.repulled} blobs re-pulled\n`,
  );
});

function build(cache: string, out: string): ReturnType<typeof runCli> {
  counts.builds++;
  return runCli(['build', '--cache', cache, '-f', 'tar', '-o', out, spec], { cwd: f.dir, home: join(f.dir, 'home') });
}

/** A copy of the good cache, to damage. */
function copyCache(): string {
  const dir = join(f.dir, `cache-${++n}`);
  execFileSync('cp', ['-a', pristine, dir]);
  return dir;
}

async function manifestOf(cache: string, name: string): Promise<{ root: string; manifest: ImageManifest }> {
  const index = JSON.parse(await readFile(join(cache, 'index.json'), 'utf8')) as ImageIndex;
  const d = index.manifests.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === `${f.host}/${name}`);
  assert.ok(d !== undefined, `${name} is cached`);
  return { root: d.digest, manifest: JSON.parse(await readFile(blob(cache, d.digest), 'utf8')) as ImageManifest };
}

function blob(cache: string, digest: string): string {
  return join(cache, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

async function flipByte(path: string, at: number): Promise<void> {
  const fh = await open(path, 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, at);
  b[0] = (b[0] ?? 0) ^ 0x20;
  await fh.write(b, 0, 1, at);
  await fh.close();
}

async function verify(cache: string): Promise<{ code: number | null; out: string }> {
  const r = await runCli(['cache', 'verify', '--cache', cache], { home: join(f.dir, 'home') });
  return { code: r.code, out: r.stdout.toString() };
}

interface Damage {
  name: string;
  /** Damages the cache; returns the digest the user must see (undefined for index.json). */
  apply(cache: string): Promise<string | undefined>;
}

const DAMAGES: Damage[] = [
  {
    name: 'a flipped byte in a layer blob',
    apply: async (cache) => {
      const layer = (await manifestOf(cache, 'test/svc:1')).manifest.layers[0]?.digest ?? '';
      await flipByte(blob(cache, layer), 40);
      return layer;
    },
  },
  {
    name: 'a truncated manifest',
    apply: async (cache) => {
      const { root } = await manifestOf(cache, 'test/init:1');
      await truncate(blob(cache, root), 100);
      return root;
    },
  },
  {
    name: 'a missing blob the index still names',
    apply: async (cache) => {
      const layer = (await manifestOf(cache, 'test/kernel:1')).manifest.layers[0]?.digest ?? '';
      await rm(blob(cache, layer));
      return layer;
    },
  },
  {
    name: 'a garbage index.json',
    apply: async (cache) => {
      await writeFile(
        join(cache, 'index.json'),
        Buffer.from('{"schemaVersion":2,"manifests":[{"digest":\u0000\u00ff garbage', 'latin1'),
      );
      return undefined;
    },
  },
];

for (const d of DAMAGES) {
  void test(`online: ${d.name} is found before use and fetched again; the output is the good build's`, async () => {
    const cache = copyCache();
    const digest = await d.apply(cache);
    counts.faults++;
    const out = join(f.dir, `online-${n}.tar`);
    const r = await build(cache, out);
    assert.equal(r.code, 0, r.stderr);
    counts.repulled += r.stderr.match(/Warning: re-pulled /g)?.length ?? 0;
    if (digest !== undefined) {
      assert.match(r.stderr, new RegExp(`Warning: re-pulled ${digest}: the cached copy was damaged \\(`), r.stderr);
    } else {
      assert.match(
        r.stderr,
        new RegExp(
          `Warning: Cannot read the cache index "${join(cache, 'index.json')}": it is not valid JSON: set it aside as "${join(cache, '.mobyts')}/index\\.json\\.damaged-\\d+"`,
        ),
      );
    }
    assert.ok((await readFile(out)).equals(golden), 'the output is byte-identical to a build from the good cache');
    const v = await verify(cache);
    assert.equal(v.code, 0, v.out);
    assert.match(v.out, /: OK\n$/);
    // the next build uses the repaired cache without a word
    const again = await build(cache, out);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /re-pulled|damaged/);
  });
}

void test('offline: each damage fails the build with exit 1, naming the digest and what to run; nothing is written', async () => {
  await f.reg.stop();
  for (const d of DAMAGES) {
    const cache = copyCache();
    const digest = await d.apply(cache);
    counts.faults++;
    const outDir = join(f.dir, `offline-${n}`);
    execFileSync('mkdir', [outDir]);
    const r = await build(cache, join(outDir, 'os.tar'));
    assert.equal(r.code, 1, `${d.name}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, d.name);
    if (digest !== undefined) {
      assert.match(
        r.stderr,
        new RegExp(
          `^Error: Cannot use the cached image "${f.host}/test/[a-z]+:1": blob ${digest} \\(.+\\) is damaged and fetching it again failed\ncaused by: `,
        ),
        d.name,
      );
      assert.match(
        r.stderr,
        /\nhint: .*`mobyts cache rm 127\.0\.0\.1:\d+\/test\/[a-z]+:1`.*`mobyts cache verify`/,
        d.name,
      );
    } else {
      assert.match(
        r.stderr,
        new RegExp(
          `^Error: Cannot read the cache index "${join(cache, 'index.json')}": it is not valid JSON, and fetching "${f.host}/test/[a-z]+:1" again failed\ncaused by: `,
        ),
      );
      assert.match(r.stderr, /\nhint: .*`mobyts cache verify`.*`mobyts cache clean`/);
    }
    assert.deepEqual(await readdir(outDir), [], `${d.name}: no output, no temp file`);
  }
});
