// mobyts pkg build against a real store: deterministic digests, the layer's exact entries, config and label,
// tags that follow the inputs, @pkg: resolution, and prepare failures.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { buffer } from 'node:stream/consumers';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { openStore } from '../../src/store/index.ts';
import { openImageTocs } from '../../src/store/image-tocs.ts';
import { isLayerToc, layerTocKey } from '../../src/store/layer-toc.ts';
import { buildPackage, type PkgBuildOptions } from '../../src/pkg/build.ts';
import { packageInfo } from '../../src/pkg/tag.ts';
import { createPkgResolver } from '../../src/pkg/template.ts';
import { parseReference } from '../../src/oci/reference.ts';
import { platformFor } from '../../src/store/index.ts';
import { silentReporter } from '../../src/util/reporter.ts';

const root = mkdtempSync(join(tmpdir(), 'mobyts-pkg-'));
after(() => rmSync(root, { recursive: true, force: true }));

function makePackage(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

async function opts(cache: string, extra: Partial<PkgBuildOptions> = {}): Promise<PkgBuildOptions> {
  return {
    store: await openStore(cache),
    archs: ['amd64'],
    force: false,
    sourceDateEpoch: 1492533000,
    reporter: silentReporter,
    ...extra,
  };
}

const pkg = makePackage('demo', {
  'build.yml': [
    'image: demo',
    'org: example',
    'contents: ./rootfs',
    'prepare: ./prepare.sh',
    'imageConfig:',
    '  Cmd: ["/bin/demo"]',
    '  Env: ["A=1"]',
    'config:',
    '  readonly: true',
    '  binds: ["/a:/b"]',
    '',
  ].join('\n'),
  'prepare.sh':
    '#!/bin/sh\nset -eu\nmkdir -p "$STAGE/usr/bin"\nprintf staged > "$STAGE/usr/bin/tool"\nchmod 0750 "$STAGE/usr/bin/tool"\n',
  'rootfs/etc/motd': 'hi\n',
  'rootfs/bin/demo': '#!/bin/sh\necho demo\n',
});
chmodSync(join(pkg, 'prepare.sh'), 0o755);
chmodSync(join(pkg, 'rootfs/bin/demo'), 0o755);
symlinkSync('demo', join(pkg, 'rootfs/bin/link'));

void describe('pkg build', () => {
  void test('two builds into two stores give the same digest; the name is <org>/<image>:<tag>', async () => {
    const a = await buildPackage(pkg, await opts(join(root, 'cache-a')));
    const b = await buildPackage(pkg, await opts(join(root, 'cache-b')));
    assert.equal(a.digest, b.digest);
    assert.match(a.ref, /^example\/demo:[0-9a-f]{40}$/);
    assert.equal(a.expanded, `docker.io/${a.ref}`);
    assert.equal(a.built, true);
    const again = await buildPackage(pkg, await opts(join(root, 'cache-a')));
    assert.deepEqual(again, { ...a, built: false });
  });

  void test('the layer holds the staged and contents files, sorted, root-owned, with fixed mtimes and kept modes', async () => {
    const store = await openStore(join(root, 'cache-a'));
    const { ref } = await packageInfo(pkg);
    const image = await store.getCachedImage(parseReference(ref), platformFor('amd64'));
    assert.ok(image !== undefined);
    const [layer] = image.manifest.layers;
    assert.ok(layer !== undefined);
    const tarBytes = gunzipSync(await buffer(await image.openLayer(layer)));
    const tmp = join(root, 'layer.tar');
    writeFileSync(tmp, tarBytes);
    const listing = execFileSync('tar', ['--numeric-owner', '--full-time', '-tvf', tmp], {
      encoding: 'utf8',
      env: { ...process.env, TZ: 'UTC' },
    });
    assert.equal(
      listing.replace(/ +/g, ' '),
      [
        'drwxr-xr-x 0/0 0 2017-04-18 16:30:00 bin',
        '-rwxr-xr-x 0/0 20 2017-04-18 16:30:00 bin/demo',
        'lrwxrwxrwx 0/0 0 2017-04-18 16:30:00 bin/link -> demo',
        'drwxr-xr-x 0/0 0 2017-04-18 16:30:00 etc',
        '-rw-r--r-- 0/0 3 2017-04-18 16:30:00 etc/motd',
        'drwxr-xr-x 0/0 0 2017-04-18 16:30:00 usr',
        'drwxr-xr-x 0/0 0 2017-04-18 16:30:00 usr/bin',
        '-rwxr-x--- 0/0 6 2017-04-18 16:30:00 usr/bin/tool',
        '',
      ].join('\n'),
    );
    assert.deepEqual(image.config.config, {
      Env: ['A=1'],
      Cmd: ['/bin/demo'],
      Labels: { 'org.mobyproject.config': '{"readonly":true,"binds":["/a:/b"]}' },
    });
    assert.equal(image.config.created, '2017-04-18T16:30:00Z');
    assert.deepEqual(
      image.manifest.layers.map((l) => l.mediaType),
      ['application/vnd.oci.image.layer.v1.tar+gzip'],
    );
    // the built layer's table of contents is in the cache, as a pulled layer's is (store/layer-toc.ts)
    const toc = await (await openImageTocs(join(root, 'cache-a')))?.get(layerTocKey(layer.digest));
    assert.ok(isLayerToc(toc));
    assert.deepEqual(
      toc.rows.map((r) => r[0]),
      ['bin', 'bin/demo', 'bin/link', 'etc', 'etc/motd', 'usr', 'usr/bin', 'usr/bin/tool'],
    );
  });

  void test("the tag follows every file of the package, and a base package's layers come first", async () => {
    const before = (await packageInfo(pkg)).tag;
    writeFileSync(join(pkg, 'rootfs/etc/motd'), 'changed\n');
    const changed = (await packageInfo(pkg)).tag;
    writeFileSync(join(pkg, 'rootfs/etc/motd'), 'hi\n');
    assert.notEqual(changed, before);
    assert.equal((await packageInfo(pkg)).tag, before);
    const child = makePackage('child', {
      'build.yml': 'image: child\nbase: ../demo\nimageConfig:\n  Cmd: ["/bin/child"]\n',
    });
    const built = await buildPackage(child, await opts(join(root, 'cache-a')));
    assert.match(built.ref, /^linuxkit\/child:/);
    const image = await (
      await openStore(join(root, 'cache-a'))
    ).getCachedImage(parseReference(built.ref), platformFor('amd64'));
    assert.equal(image?.manifest.layers.length, 2);
    assert.deepEqual(image.config.config, {
      Env: ['A=1'],
      Cmd: ['/bin/child'],
      Labels: { 'org.mobyproject.config': '{"readonly":true,"binds":["/a:/b"]}' },
    });
  });

  void test('@pkg: resolves built packages, says how to build unbuilt ones, and ignores non-packages', async () => {
    const built = createPkgResolver({ cache: join(root, 'cache-b') });
    assert.equal(await built('@pkg:./demo', root), (await packageInfo(pkg)).ref);
    assert.equal(await built('@pkg:./nothing-here', root), undefined);
    const empty = createPkgResolver({ cache: join(root, 'cache-empty') });
    await assert.rejects(empty('@pkg:demo', root), (err: Error & { hint?: string }) => {
      assert.match(err.message, /^Cannot use "@pkg:demo": package example\/demo:[0-9a-f]{40} is not built$/);
      assert.equal(err.hint, `build it first: mobyts pkg build --cache ${join(root, 'cache-empty')} ${pkg}`);
      return true;
    });
  });

  void test('one spec fingerprints a shared base once per arch, however many packages and containers use it', async () => {
    const runs = join(root, 'fingerprint-runs');
    makePackage('fp-base', {
      'build.yml': `image: fp-base\narches: [amd64, arm64]\nfingerprint: echo "$MOBYTS_ARCH" >> ${runs}; echo v1\n`,
    });
    const a = makePackage('fp-a', { 'build.yml': 'image: fp-a\nbase: ../fp-base\n' });
    makePackage('fp-b', { 'build.yml': 'image: fp-b\nbase: ../fp-base\n' });
    const resolver = createPkgResolver({ requireBuilt: false });
    const values = ['@pkg:./fp-a', '@pkg:./fp-b', '@pkg:./fp-a', '@pkg:./fp-base'];
    const refs = await Promise.all(values.map((v) => resolver(v, root)));
    assert.deepEqual(readFileSync(runs, 'utf8').trim().split('\n').sort(), ['amd64', 'arm64']);
    assert.equal(refs[0], refs[2]);
    assert.equal(refs[0], (await packageInfo(a)).ref, 'the same tag as a package computed on its own');
  });

  void test('a failing prepare step fails the build with its stderr and stores nothing', async () => {
    const broken = makePackage('broken', { 'build.yml': 'image: broken\nprepare: echo no busybox here >&2; exit 3\n' });
    const cache = join(root, 'cache-broken');
    await assert.rejects(
      buildPackage(broken, await opts(cache)),
      /^MobyError: Cannot build package ".*broken": prepare step `echo no busybox here >&2; exit 3` failed with exit status 3\nno busybox here$/,
    );
    assert.equal(
      await (await openStore(cache)).getRef(parseReference((await packageInfo(broken)).ref).expanded),
      undefined,
    );
  });
});
