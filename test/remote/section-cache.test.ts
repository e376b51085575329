/**
 * `--cache-to` / `--cache-from` through the real CLI and the REAL registry, separate cache directories standing
 * in for stateless runners: a runner with an empty local cache and a warm remote one downloads every section and
 * compresses none (counted from the `-v 2` debug lines), downloads no image layer and writes the same bytes; one changed `files:` entry
 * rebuilds one section; 4 runners pushing at once leave an index listing every entry; registry faults fall back
 * to local work, and a segment whose digest does not verify is never used.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { debugBuild, segmentIds, startFixture, type Fixture } from '../pipeline/fixture.ts';
import { startFaultProxy } from '../helpers/fault-proxy.ts';

let f: Fixture;

const SPEC = `
kernel:
  image: HOST/test/kernel:1
  cmdline: "console=ttyS0"
init:
  - HOST/test/init:1
services:
  - name: svc
    image: HOST/test/svc:1
files:
  - path: etc/greeting
    contents: "GREETING"
`;

const ALL = ['kernel', 'init[0]', 'services[0]', 'files', 'trailer'];

before(async () => {
  f = await startFixture();
  await f.spec('rc.yml', SPEC.replace('GREETING', 'hello'));
});
after(() => f.cleanup());

interface Built {
  initrd: Buffer;
  compressed: string[];
  reused: string[];
  downloaded: number;
  stderr: string;
  code: number | null;
}

async function build(runner: string, flags: string[], spec = 'rc.yml'): Promise<Built> {
  const out = join(f.dir, `out-${runner}`);
  const cache = join(f.dir, `cache-${runner}`);
  const r = await debugBuild(f, { cache, out, spec: join(f.dir, spec), flags: ['-n', 'rc', ...flags] });
  return {
    initrd: r.code === 0 ? await readFile(join(out, 'rc-initrd.img')) : Buffer.alloc(0),
    compressed: segmentIds(r.stderr, 'compressed'),
    reused: segmentIds(r.stderr, 'reused'),
    downloaded: [...r.stderr.matchAll(/^section [0-9a-f]{12} downloaded from /gm)].length,
    stderr: r.stderr,
    code: r.code,
  };
}

/** The layer digests of every image manifest in the cache directory `cache`. */
async function imageLayers(cache: string): Promise<string[]> {
  const dir = join(cache, 'blobs', 'sha256');
  const layers = new Set<string>();
  for (const name of await readdir(dir)) {
    const blob = await readFile(join(dir, name));
    if (blob[0] !== 0x7b) continue;
    try {
      const m = JSON.parse(blob.toString()) as { layers?: Array<{ digest: string }> };
      for (const l of m.layers ?? []) layers.add(l.digest);
    } catch {
      // not JSON: a layer
    }
  }
  return [...layers].sort();
}

/** Which of `digests` the cache `cache` holds. */
async function present(cache: string, digests: string[]): Promise<string[]> {
  const have = new Set(await readdir(join(cache, 'blobs', 'sha256')));
  return digests.filter((d) => have.has(d.replace(/^sha256:/, '')));
}

/** The references the cache's index.json names. */
async function namedImages(cache: string): Promise<string[]> {
  const index = JSON.parse(await readFile(join(cache, 'index.json'), 'utf8')) as {
    manifests: Array<{ annotations?: Record<string, string> }>;
  };
  return index.manifests.flatMap((m) => m.annotations?.['org.opencontainers.image.ref.name'] ?? []).sort();
}

async function remoteIndex(repo: string, tag: string): Promise<string[]> {
  const res = await request(`${f.reg.url}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: 'application/vnd.oci.image.index.v1+json' },
  });
  assert.equal(res.statusCode, 200);
  const index = (await res.body.json()) as {
    artifactType: string;
    manifests: Array<{ annotations: Record<string, string> }>;
  };
  assert.equal(index.artifactType, 'application/vnd.mobyts.cache.index.v1');
  // the section entries (the index lists the init images' tables of contents too: test/remote/toc-cache.test.ts)
  return index.manifests
    .flatMap((m) => {
      const key = m.annotations['dev.mobyts.section.key'];
      return key === undefined ? [] : [key];
    })
    .sort();
}

/** Matches the blob URLs of the remote cache `repo:tag`'s section members of more than 100 bytes (from its manifests). */
async function memberBlobs(repo: string, tag: string): Promise<RegExp> {
  const get = async (
    ref: string,
    accept: string,
  ): Promise<{
    manifests?: Array<{ digest: string }>;
    layers?: Array<{ digest: string; size: number; mediaType: string }>;
  }> => {
    const res = await request(`${f.reg.url}/v2/${repo}/manifests/${ref}`, { headers: { accept } });
    assert.equal(res.statusCode, 200);
    return (await res.body.json()) as {
      manifests?: Array<{ digest: string }>;
      layers?: Array<{ digest: string; size: number; mediaType: string }>;
    };
  };
  const index = await get(tag, 'application/vnd.oci.image.index.v1+json');
  const digests: string[] = [];
  for (const m of index.manifests ?? []) {
    const entry = await get(m.digest, 'application/vnd.oci.image.manifest.v1+json');
    for (const l of entry.layers ?? [])
      if (l.mediaType === 'application/vnd.mobyts.cache.member.v1' && l.size > 100) digests.push(l.digest);
  }
  assert.ok(digests.length > 0);
  return new RegExp(`/blobs/(${digests.join('|')})$`);
}

async function sectionTags(repo: string): Promise<string[]> {
  const res = await request(`${f.reg.url}/v2/${repo}/tags/list`);
  const body = (await res.body.json()) as { tags: string[] };
  return body.tags
    .filter((t) => t.startsWith('section-'))
    .map((t) => t.slice('section-'.length))
    .sort();
}

void test("runner B with an empty cache downloads every section from A's remote cache, compresses none, writes the same bytes", async () => {
  const remote = `${f.host}/ci/cache:main`;
  const a = await build('a', ['--cache-to', `type=registry,ref=${remote}`]);
  assert.equal(a.code, 0, a.stderr);
  assert.deepEqual(a.compressed, ALL);
  assert.match(a.stderr, /^Remote cache .*ci\/cache:main: pushed 5 of 5 sections$/m);
  const keys = await remoteIndex('ci/cache', 'main');
  assert.equal(keys.length, 5);
  assert.deepEqual(await sectionTags('ci/cache'), keys);

  const b = await build('b', ['--cache-from', remote]);
  assert.equal(b.code, 0, b.stderr);
  assert.deepEqual(b.compressed, [], 'B recompressed nothing');
  assert.deepEqual(b.reused, ALL);
  assert.equal(b.downloaded, 5);
  assert.ok(b.initrd.equals(a.initrd), 'byte-identical initrd');
  assert.deepEqual(
    await readFile(join(f.dir, 'out-b', 'rc-kernel')),
    await readFile(join(f.dir, 'out-a', 'rc-kernel')),
  );
  // every section came from the remote cache, so no image layer was downloaded: B's cache holds the images'
  // manifests and configs only, and names no image it does not hold whole
  const layers = await imageLayers(join(f.dir, 'cache-a'));
  assert.ok(layers.length >= 3, layers.join(', '));
  assert.deepEqual(await present(join(f.dir, 'cache-b'), layers), []);
  assert.deepEqual(await namedImages(join(f.dir, 'cache-b')), []);
  assert.deepEqual(await namedImages(join(f.dir, 'cache-a')), [
    `${f.host}/test/init:1`,
    `${f.host}/test/kernel:1`,
    `${f.host}/test/svc:1`,
  ]);

  // one files: entry changed: runner C rebuilds that one section, downloads the rest, and pushes only it
  await f.spec('rc2.yml', SPEC.replace('GREETING', 'changed'));
  const c = await build('c', ['--cache-from', remote, '--cache-to', remote], 'rc2.yml');
  assert.equal(c.code, 0, c.stderr);
  assert.deepEqual(c.compressed, ['files']);
  assert.equal(c.downloaded, 4);
  assert.deepEqual(await present(join(f.dir, 'cache-c'), layers), [], 'the files section reads no image layer');
  assert.match(c.stderr, /pushed 1 of 5 sections$/m);
  assert.equal((await remoteIndex('ci/cache', 'main')).length, 6);
});

void test('4 runners pushing to one remote cache at once: the index lists every entry, none lost', async () => {
  const remote = `${f.host}/ci/shared:main`;
  for (let i = 0; i < 4; i++) await f.spec(`p${i}.yml`, SPEC.replace('GREETING', `runner ${i}`));
  const results = await Promise.all([0, 1, 2, 3].map((i) => build(`p${i}`, ['--cache-to', remote], `p${i}.yml`)));
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  // 4 distinct files sections + the shared kernel, init, service and trailer sections
  const tags = await sectionTags('ci/shared');
  assert.equal(tags.length, 8);
  assert.deepEqual(await remoteIndex('ci/shared', 'main'), tags);
});

void test('registry faults during --cache-from fall back to local work; a corrupted segment is never used', async () => {
  const proxy = await startFaultProxy(f.reg.url);
  try {
    const remote = `${proxy.host}/ci/cache:main`;
    // every blob download corrupted: each section fails to verify, is built here, and the initrd is the right one
    proxy.add({ match: /\/blobs\/sha256:/, method: 'GET', kind: 'corrupt', times: Infinity });
    const good = await readFile(join(f.dir, 'out-a', 'rc-initrd.img'));
    const d = await build('d', ['--cache-from', remote]);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.downloaded, 0);
    assert.deepEqual(d.compressed, ALL);
    assert.ok(d.initrd.equals(good));
    assert.match(
      d.stderr,
      /^Warning: Cannot use section [0-9a-f]{12} of the remote cache .*, building it here\ncaused by: Cannot verify blob sha256:[0-9a-f]{64} \(.*\): content has digest/m,
    );

    // the index answers 500 every time (after retries): the build says so and works locally
    proxy.clear();
    proxy.add({ match: /\/manifests\/main$/, kind: 'status', status: 500, times: Infinity });
    const e = await build('e', ['--cache-from', remote]);
    assert.equal(e.code, 0, e.stderr);
    assert.deepEqual(e.compressed, ALL);
    assert.match(
      e.stderr,
      /^Warning: Cannot read the remote cache .*ci\/cache:main, building without it\ncaused by: .*HTTP 500/m,
    );

    // a 429 and a reset on the way are retried: every section still comes from the remote cache
    proxy.clear();
    proxy.add({ match: /\/manifests\/main$/, kind: 'status', status: 429, retryAfter: '0', times: 1 });
    proxy.add({ match: /\/blobs\/sha256:/, method: 'GET', kind: 'reset', afterBytes: 10, times: 2 });
    const g = await build('g', ['--cache-from', remote]);
    assert.equal(g.code, 0, g.stderr);
    assert.deepEqual(g.compressed, []);
    assert.equal(g.downloaded, 5);
    assert.ok(g.initrd.equals(good));

    // a member cut short (the body ends cleanly before its Content-Length) is resumed where it stopped and
    // verified: every section still comes from the remote cache
    const members = await memberBlobs('ci/cache', 'main');
    proxy.clear();
    proxy.add({ match: members, method: 'GET', kind: 'truncate', afterBytes: 100, times: 2 });
    const t1 = await build('t1', ['--cache-from', remote]);
    assert.equal(t1.code, 0, t1.stderr);
    assert.deepEqual(t1.compressed, []);
    assert.equal(t1.downloaded, 5);
    assert.ok(t1.initrd.equals(good));
    assert.equal(proxy.requests.filter((r) => r.fault === 'truncate').length, 2);

    // every member download cut short, again after each retry: the members fail while they download in the
    // background (after their sections were replayed), so the initrd is written again and they are built here
    proxy.clear();
    proxy.add({ match: members, method: 'GET', kind: 'truncate', afterBytes: 100, times: Infinity });
    const t2 = await build('t2', ['--cache-from', remote]);
    assert.equal(t2.code, 0, t2.stderr);
    // the members of a few bytes (an empty section's) are not cut short: those still download
    assert.ok(t2.compressed.length > 0);
    assert.equal(t2.downloaded + t2.compressed.length, 5);
    assert.equal([...t2.stderr.matchAll(/^Warning: Cannot use section /gm)].length, t2.compressed.length);
    assert.ok(t2.initrd.equals(good));
    assert.match(
      t2.stderr,
      /^Warning: Cannot use section [0-9a-f]{12} of the remote cache .*, building it here\ncaused by: .*downloading blob sha256:[0-9a-f]{64} failed after 5 attempts/m,
    );

    // every member corrupted (the records and blobs are fine): no corrupted member is used
    proxy.clear();
    proxy.add({ match: members, method: 'GET', kind: 'corrupt', times: Infinity });
    const t3 = await build('t3', ['--cache-from', remote]);
    assert.equal(t3.code, 0, t3.stderr);
    assert.ok(t3.compressed.length > 0);
    assert.equal(t3.downloaded + t3.compressed.length, 5);
    assert.ok(t3.initrd.equals(good));
    assert.match(
      t3.stderr,
      /^Warning: Cannot use section [0-9a-f]{12} of the remote cache .*, building it here\ncaused by: Cannot verify blob/m,
    );

    // --cache-to against a registry that refuses uploads fails clearly, after the outputs are written
    proxy.clear();
    proxy.add({ match: /\/blobs\/uploads\//, kind: 'status', status: 500, times: Infinity });
    await f.spec('rc3.yml', SPEC.replace('GREETING', 'refused'));
    const h = await build('h', ['--cache-to', remote], 'rc3.yml');
    assert.equal(h.code, 1);
    assert.match(
      h.stderr,
      /^Error: The outputs are written, but pushing the sections to .*ci\/cache:main failed\ncaused by: Cannot push .*HTTP 500/m,
    );
  } finally {
    await proxy.stop();
  }
});
