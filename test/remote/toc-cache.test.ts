/**
 * The init images' tables of contents through `--cache-to` / `--cache-from` (docs/scale.md#remote-cache), with
 * the real CLI and the REAL registry: runner A pushes the TOCs its build used beside the sections; runner B, its
 * own cache empty, takes every init TOC and symlink TOC from the remote cache (none read from the layers, told
 * by the `-v 2` debug lines) and writes the same bytes; a TOC whose bytes do not match its digest is not used
 * (the layers are read instead, the outputs are unchanged).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { debugBuild, segmentIds, SPEC_HEAD, startFixture, type Fixture } from '../pipeline/fixture.ts';

let f: Fixture;

const SPEC = `${SPEC_HEAD}  - HOST/test/init2:1
services:
  - name: svc
    image: HOST/test/svc:1
`;

before(async () => {
  f = await startFixture();
  await f.spec('toc.yml', SPEC);
});
after(() => f.cleanup());

interface Built {
  initrd: Buffer;
  kernel: Buffer;
  stderr: string;
  code: number | null;
  /** `init[N] table of contents: …` and `init[N] symlinks: …` debug lines: where each came from. */
  tocs: string[];
  compressed: number;
}

async function build(runner: string, flags: string[]): Promise<Built> {
  const out = join(f.dir, `out-${runner}`);
  const cache = join(f.dir, `cache-${runner}`);
  const r = await debugBuild(f, { cache, out, spec: join(f.dir, 'toc.yml'), flags: ['-n', 'toc', ...flags] });
  const ok = r.code === 0;
  return {
    initrd: ok ? await readFile(join(out, 'toc-initrd.img')) : Buffer.alloc(0),
    kernel: ok ? await readFile(join(out, 'toc-kernel')) : Buffer.alloc(0),
    stderr: r.stderr,
    code: r.code,
    tocs: [
      ...r.stderr.matchAll(
        /^(init\[\d\] (?:table of contents|symlinks): (?:from the cache|planned from the layers' tables of contents))/gm,
      ),
    ]
      .map((m) => m[1] ?? '')
      .sort(),
    compressed: segmentIds(r.stderr, 'compressed').length,
  };
}

const where = (from: string): string[] =>
  ['init[0] symlinks', 'init[0] table of contents', 'init[1] symlinks', 'init[1] table of contents'].map(
    (w) => `${w}: ${from}`,
  );

/** A build that reads the init images' layers: their TOCs, and their symlinks noted in the same pass. */
const madeHere = [
  'init[0] symlinks: from the cache',
  "init[0] table of contents: planned from the layers' tables of contents",
  'init[1] symlinks: from the cache',
  "init[1] table of contents: planned from the layers' tables of contents",
];

async function manifest(repo: string, ref: string, accept: string): Promise<Record<string, unknown>> {
  const res = await request(`${f.reg.url}/v2/${repo}/manifests/${ref}`, { headers: { accept } });
  assert.equal(res.statusCode, 200);
  return (await res.body.json()) as Record<string, unknown>;
}

/** The TOC layers' digests of the remote cache `repo:tag`, from its index. */
async function tocBlobs(repo: string, tag: string): Promise<string[]> {
  const index = (await manifest(repo, tag, 'application/vnd.oci.image.index.v1+json')) as {
    manifests: Array<{ digest: string; artifactType: string; annotations: Record<string, string> }>;
  };
  const out: string[] = [];
  for (const m of index.manifests) {
    if (m.artifactType !== 'application/vnd.mobyts.cache.toc.v1') continue;
    assert.match(m.annotations['dev.mobyts.toc.key'] ?? '', /^[0-9a-f]{64}$/);
    const entry = (await manifest(repo, m.digest, 'application/vnd.oci.image.manifest.v1+json')) as {
      layers: Array<{ mediaType: string; digest: string }>;
    };
    for (const l of entry.layers) {
      assert.equal(l.mediaType, 'application/vnd.mobyts.cache.toc.v1+json');
      out.push(l.digest);
    }
  }
  return out;
}

void test("runner B takes every init TOC and symlink TOC from A's remote cache, reads no init layer, writes the same bytes", async () => {
  const remote = `${f.host}/ci/tocs:main`;
  const a = await build('a', ['--cache-to', `type=registry,ref=${remote}`]);
  assert.equal(a.code, 0, a.stderr);
  // the pre-scan's pass over each init image notes its symlinks too (src/rootfs/init.ts): those come from the
  // local store after it
  assert.deepEqual(a.tocs, madeHere);
  // the init TOCs, the symlink TOCs, and the TOCs of the init images' three layers they were planned from
  assert.match(a.stderr, /^Remote cache .*ci\/tocs:main: pushed 7 of 7 tables of contents$/m);
  assert.equal((await tocBlobs('ci/tocs', 'main')).length, 7);

  const b = await build('b', ['--cache-from', remote]);
  assert.equal(b.code, 0, b.stderr);
  assert.deepEqual(b.tocs, where('from the cache'));
  assert.doesNotMatch(b.stderr, /planned from|read from the layer/);
  assert.equal([...b.stderr.matchAll(/^table of contents [0-9a-f]{12} downloaded from /gm)].length, 4);
  assert.equal(b.compressed, 0);
  assert.ok(b.initrd.equals(a.initrd), 'byte-identical initrd');
  assert.ok(b.kernel.equals(a.kernel), 'byte-identical kernel');

  // the same runner again: its own cache now has them, the remote one is not asked
  const b2 = await build('b', ['--cache-from', remote]);
  assert.equal(b2.code, 0, b2.stderr);
  assert.deepEqual(b2.tocs, where('from the cache'));
  assert.doesNotMatch(b2.stderr, /^table of contents .* downloaded/m);

  // a runner pushing what it reused: nothing new to push
  const c = await build('c', ['--cache-from', remote, '--cache-to', remote]);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stderr, /pushed 0 of 4 tables of contents$/m);
});

void test('a remote TOC whose bytes do not match its digest is not used: the layers are read, the outputs are the same', async () => {
  const proxy = await startFaultProxy(f.reg.url);
  try {
    const blobs = await tocBlobs('ci/tocs', 'main');
    const good = await readFile(join(f.dir, 'out-a', 'toc-initrd.img'));
    proxy.add({ match: new RegExp(`/blobs/(${blobs.join('|')})$`), method: 'GET', kind: 'corrupt', times: Infinity });
    const d = await build('d', ['--cache-from', `${proxy.host}/ci/tocs:main`]);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(d.tocs, madeHere);
    assert.equal(
      [
        ...d.stderr.matchAll(
          /^Warning: Cannot use table of contents [0-9a-f]{12} of the remote cache .*, reading the image's layers\ncaused by: Cannot verify blob sha256:[0-9a-f]{64} \(.*\): content has digest/gm,
        ),
      ].length,
      5, // the init TOCs and their layers' TOCs (3); the symlinks were noted by the pre-scan's pass
    );
    assert.doesNotMatch(d.stderr, /^table of contents .* downloaded/m);
    assert.equal(d.compressed, 0, 'the sections still come from the remote cache');
    assert.ok(d.initrd.equals(good));
    assert.ok(proxy.requests.some((r) => r.fault === 'corrupt'));
  } finally {
    await proxy.stop();
  }
});
