// The build plan (src/pipeline/plan.ts): its contents for a small spec, its JSON round trip, the digests a dry
// run prints from the cache and from a lockfile, and a lockfile written from planned images.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/index.ts';
import { silentReporter } from '../../src/util/reporter.ts';
import { buildOptions, type BuildOptions } from '../../src/pipeline/options.ts';
import { resolvePlan, imageRequests, type BuildPlan } from '../../src/pipeline/plan.ts';
import { cachedImages } from '../../src/pipeline/plan-images.ts';
import { runDryRun } from '../../src/pipeline/dry-run.ts';
import { loadBuildSpecs } from '../../src/pipeline/run.ts';
import { normaliseSpec } from '../../src/spec/normalise.ts';
import type { MobySpec } from '../../src/spec/types.ts';
import { lockfileFromImages, planImagesFromLock, plannedFromRecord } from '../../src/lock/image-plan.ts';
import type { Lockfile } from '../../src/lock/lockfile.ts';
import type { Digest } from '../../src/oci/digest.ts';
import {
  buildImage,
  buildIndex,
  randomLayer,
  writeToLayout,
  type BuiltIndex,
  type BuiltImage,
} from '../helpers/images.ts';

let cache: string;
let init: BuiltIndex;
let getty: BuiltImage;

before(async () => {
  cache = await mkdtemp(join(tmpdir(), 'mobyts-plan-'));
  init = await buildIndex([
    { layers: [randomLayer()], platform: { architecture: 'amd64' } },
    { layers: [randomLayer()], platform: { architecture: 'arm64', variant: 'v8' } },
  ]);
  getty = await buildImage({ layers: [randomLayer()], platform: { architecture: 'amd64' } });
  await writeToLayout(cache, 'docker.io/linuxkit/init:v1', init);
  await writeToLayout(cache, 'docker.io/linuxkit/getty:v2', getty);
});
after(() => rm(cache, { recursive: true, force: true }));

const opts = (o: Partial<BuildOptions> = {}): BuildOptions =>
  buildOptions({ format: ['kernel+initrd'], arch: 'amd64', dryRun: true, ...o });

const SPEC: MobySpec = normaliseSpec({
  kernel: { image: 'linuxkit/kernel:6.6.71', cmdline: 'console=ttyS0' },
  init: ['linuxkit/init:v1'],
  onboot: [{ name: 'sysctl', image: 'linuxkit/getty:v2' }],
  services: [{ name: 'getty', image: 'linuxkit/getty:v2' }],
  files: [
    { path: 'etc/hostname', contents: 'os' },
    { path: 'etc/linuxkit.yml', metadata: 'yaml' },
  ],
  volumes: [{ name: 'layout', image: 'linuxkit/init:v1', format: 'oci', platforms: ['linux/arm64'] }],
  trust: { org: ['linuxkit'] },
});

function plan(o: Partial<BuildOptions> = {}): Promise<BuildPlan> {
  return resolvePlan(SPEC, {
    name: 'os',
    build: opts(o),
    specDirs: ['/specs', '/specs'],
    mtime: 1492533000,
    cacheDir: cache,
    images: (requests) =>
      cachedImages(() => openStore(cache), cache, requests, { trust: SPEC.trust, disableContentTrust: false }),
  });
}

void test('the plan names every image per platform with its digests and trust, every section and output', async () => {
  assert.deepEqual(imageRequests(SPEC, 'amd64'), [
    { ref: 'docker.io/linuxkit/kernel:6.6.71', platform: 'linux/amd64', planned: false },
    { ref: 'docker.io/linuxkit/init:v1', platform: 'linux/amd64', planned: true },
    { ref: 'docker.io/linuxkit/getty:v2', platform: 'linux/amd64', planned: false },
    { ref: 'docker.io/linuxkit/init:v1', platform: 'linux/arm64', planned: true },
  ]);
  const p = await plan({ dir: 'out' });
  const [amd, arm] = init.images;
  assert.deepEqual(p.images, [
    {
      ref: 'docker.io/linuxkit/kernel:6.6.71',
      platform: 'linux/amd64',
      trust: 'pending',
      from: 'unresolved',
      problem: 'not in the cache: the build pulls it (--pull resolves it now)',
    },
    {
      ref: 'docker.io/linuxkit/init:v1',
      platform: 'linux/amd64',
      pinned: `docker.io/linuxkit/init:v1@${init.descriptor.digest}`,
      digest: init.descriptor.digest,
      mediaType: init.descriptor.mediaType,
      manifest: amd?.descriptor.digest,
      trust: 'pending',
      from: 'cache',
    },
    {
      ref: 'docker.io/linuxkit/getty:v2',
      platform: 'linux/amd64',
      pinned: `docker.io/linuxkit/getty:v2@${getty.descriptor.digest}`,
      digest: getty.descriptor.digest,
      mediaType: getty.descriptor.mediaType,
      manifest: getty.descriptor.digest,
      trust: 'pending',
      from: 'cache',
    },
    {
      ref: 'docker.io/linuxkit/init:v1',
      platform: 'linux/arm64',
      pinned: `docker.io/linuxkit/init:v1@${init.descriptor.digest}`,
      digest: init.descriptor.digest,
      mediaType: init.descriptor.mediaType,
      manifest: arm?.descriptor.digest,
      trust: 'pending',
      from: 'cache',
    },
  ]);
  assert.deepEqual(p.os, {
    kernel: {
      image: 'docker.io/linuxkit/kernel:6.6.71',
      cmdline: 'console=ttyS0',
      binary: 'kernel',
      tar: 'kernel.tar',
    },
    init: ['docker.io/linuxkit/init:v1'],
    volumes: [
      {
        name: 'layout',
        image: 'docker.io/linuxkit/init:v1',
        format: 'oci',
        readonly: false,
        platforms: ['linux/arm64'],
      },
    ],
    onboot: [{ name: 'sysctl', image: 'docker.io/linuxkit/getty:v2' }],
    onshutdown: [],
    services: [{ name: 'getty', image: 'docker.io/linuxkit/getty:v2' }],
    files: [
      { path: 'etc/hostname', kind: 'file', specDir: '/specs' },
      { path: 'etc/linuxkit.yml', kind: 'metadata', format: 'yaml', specDir: '/specs' },
    ],
    sbom: { path: 'sbom.spdx.json', created: 1492533000 },
  });
  assert.deepEqual(p.outputs, {
    formats: ['kernel+initrd'],
    name: 'os',
    dir: 'out',
    files: ['out/os-kernel', 'out/os-initrd.img', 'out/os-cmdline'],
  });
  assert.equal(p.platform, 'linux/amd64');
  assert.equal(p.settings.sizeBytes, 1024 * 1024 * 1024);
  assert.equal(p.spec, SPEC);
});

void test('the plan is plain data: JSON round trip', async () => {
  const p = await plan({ sbom: false, disableContentTrust: true });
  assert.equal(p.os.sbom, undefined);
  assert.deepEqual(JSON.parse(JSON.stringify(p)), p);
});

void test('a lockfile read into planned images and written back is the same lockfile', () => {
  const d = (c: string): Digest => `sha256:${c.repeat(64)}` as Digest;
  const lock: Lockfile = {
    lockfileVersion: 1,
    images: {
      'docker.io/linuxkit/init:v1': {
        digest: d('1'),
        mediaType: 'application/vnd.oci.image.index.v1+json',
        platforms: [
          { platform: 'linux/amd64', digest: d('2') },
          { platform: 'linux/arm64/v8', digest: d('3') },
        ],
        trust: 'verified',
        signedBy: ['targets/releases'],
      },
    },
  };
  const images = planImagesFromLock(lock, [{ ref: 'docker.io/linuxkit/init:v1', platform: 'linux/arm64' }], true, () =>
    assert.fail('trust of a locked image comes from the lock'),
  );
  assert.equal(images[0]?.manifest, d('3'));
  assert.equal(images[0]?.pinned, `docker.io/linuxkit/init:v1@${d('1')}`);
  const entry = lock.images['docker.io/linuxkit/init:v1'];
  assert.ok(entry !== undefined);
  assert.deepEqual(
    lockfileFromImages([plannedFromRecord('docker.io/linuxkit/init:v1', 'linux/amd64', entry, 'registry')]),
    lock,
  );
  assert.throws(() => lockfileFromImages(images), /Cannot lock "docker.io\/linuxkit\/init:v1"/);
  const missing = planImagesFromLock(
    lock,
    [{ ref: 'docker.io/linuxkit/getty:v2', platform: 'linux/amd64' }],
    false,
    () => 'none',
  );
  assert.match(missing[0]?.problem ?? '', /it is not in the lockfile/);
  assert.throws(() =>
    planImagesFromLock(lock, [{ ref: 'docker.io/linuxkit/getty:v2', platform: 'linux/amd64' }], true, () => 'none'),
  );
});

void test('--dry-run prints the digests of cached images, and the locked ones with --locked', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mobyts-plan-dry-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const spec = join(dir, 'os.yml');
  await writeFile(spec, 'init: [linuxkit/init:v1]\nservices:\n  - name: getty\n    image: linuxkit/getty:v2\n');
  const dry = async (o: Partial<BuildOptions>): Promise<string> => {
    const loaded = await loadBuildSpecs([spec], opts({ cache, ...o }));
    return runDryRun([spec], loaded, opts({ cache, ...o }), {
      reporter: silentReporter,
      signal: new AbortController().signal,
    });
  };
  const [amd, arm] = init.images;
  const cached = await dry({});
  assert.ok(
    cached.includes(
      [
        '# plan (linux/amd64):',
        '#   images:',
        `#     docker.io/linuxkit/init:v1@${init.descriptor.digest} (linux/amd64 ${amd?.descriptor.digest}) trust=none, from cache`,
        `#     docker.io/linuxkit/getty:v2@${getty.descriptor.digest} (linux/amd64 ${getty.descriptor.digest}) trust=none, from cache`,
        '#   init: docker.io/linuxkit/init:v1',
        '#   services: getty (docker.io/linuxkit/getty:v2)',
        '#   sbom: sbom.spdx.json',
        '',
      ].join('\n'),
    ),
    cached,
  );
  const arm64 = await dry({ arch: 'arm64' });
  assert.ok(
    arm64.includes(
      `#     docker.io/linuxkit/init:v1@${init.descriptor.digest} (linux/arm64 ${arm?.descriptor.digest})`,
    ),
    arm64,
  );
  const lock: Lockfile = {
    lockfileVersion: 1,
    images: {
      'docker.io/linuxkit/init:v1': {
        digest: init.descriptor.digest,
        mediaType: init.descriptor.mediaType,
        platforms: init.images.map((i) => ({
          platform: `linux/${i.platform.architecture}`,
          digest: i.descriptor.digest,
        })),
        trust: 'none',
      },
    },
  };
  await writeFile(`${spec}.lock`, JSON.stringify(lock));
  const locked = await dry({ locked: '' });
  assert.ok(
    locked.includes(
      `#     docker.io/linuxkit/init:v1@${init.descriptor.digest} (linux/amd64 ${amd?.descriptor.digest}) trust=none, from lockfile\n` +
        `#     docker.io/linuxkit/getty:v2 (linux/amd64): Cannot use locked image "docker.io/linuxkit/getty:v2" from "${spec}.lock": it is not in the lockfile; trust=none\n`,
    ),
    locked,
  );
});
