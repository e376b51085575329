/**
 * Every example spec and every bench case shape, built with `-f kernel+initrd` through the real CLI
 * (docs/formats.md#the-initrd-one-member-per-section-and-the-section-cache): from an empty section cache, then
 * from the filled one (every member reused, none compressed), and for every example and the bench's `ref` once
 * more with the section cache emptied, under another TZ, umask and TMPDIR (every member compressed again; the
 * other bench shapes skip this third build, which the hello and `ref` builds already cover, to keep the file near
 * two minutes). Kernel, initrd and cmdline are byte-identical each time; after examples/hello.yml's second build
 * `cache ls` counts its sections.
 *
 * - examples/hello.yml: from the offline example packages (test/helpers/packages.ts), its real kernel included.
 * - The other examples name images on Docker Hub: each is built unchanged through `--mirror docker.io=…` from
 *   the one test registry, which holds a small stand-in under every name the spec uses (a kernel image shaped
 *   like a LinuxKit kernel for `kernel:`, a one-file image for the rest); examples/moby-2017.yml also gets
 *   `--disable-content-trust`, as its `trust:` section names images only Notary could vouch for.
 * - The bench cases: `npm run bench -- --small`'s shapes (bench/lib/cases.ts), pushed to the same registry.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { benchConfig, planImages } from '../../bench/lib/cases.ts';
import { contentPool } from '../../bench/lib/content.ts';
import { pushPlan } from '../../bench/lib/generate.ts';
import { specYaml } from '../../bench/lib/spec.ts';
import { parseReference } from '../../src/oci/reference.ts';
import { loadSpecs } from '../../src/spec/load.ts';
import { buildImage, layerTar, pushImage } from '../helpers/images.ts';
import { buildExamplePackages } from '../helpers/packages.ts';
import {
  debugBuild,
  KERNEL_TAR,
  REPO,
  runCli,
  segmentIds,
  startFixture,
  type Fixture,
  type RunEnv,
} from './fixture.ts';

const EXAMPLES = join(REPO, 'examples');
const MTIME = 1700000000;

let f: Fixture;

// The example packages are built while the other cases run (their build mostly waits on apt), into a store of
// their own; the hello case, last, awaits them.
const packagesDir = await mkdtemp(join(tmpdir(), 'mobyts-examples-twice-'));
const packages = buildExamplePackages(join(packagesDir, 'cache'));
packages.catch(() => {}); // awaited (and so reported) by the hello case

before(async () => {
  f = await startFixture();
});
after(async () => {
  await packages.catch(() => {});
  await rm(packagesDir, { recursive: true, force: true });
  await f.cleanup();
});

interface Built {
  files: Buffer[];
  compressed: string[];
  reused: string[];
}

/** `mobyts build -v 2 -f kernel+initrd` of `spec` into a fresh directory; the outputs and the segment lines. */
async function build(spec: string, cache: string, out: string, extra: string[], env: RunEnv = {}): Promise<Built> {
  const name = spec.replace(/^.*\//, '').replace(/\.yml$/, '');
  const r = await debugBuild(f, { cache, out, spec, flags: extra, env });
  assert.equal(r.code, 0, r.stderr);
  const files = await Promise.all(['kernel', 'initrd.img', 'cmdline'].map((s) => readFile(join(out, `${name}-${s}`))));
  return { files, compressed: segmentIds(r.stderr, 'compressed'), reused: segmentIds(r.stderr, 'reused') };
}

/**
 * The builds of `spec` in `cache` (its images may be cached already, its section cache must be empty): twice, then
 * (`again`) once more after emptying the section cache, under another TZ, umask and TMPDIR.
 */
async function builds(
  id: string,
  spec: string,
  cache: string,
  o: { extra?: string[]; again?: boolean; ls?: boolean } = {},
): Promise<void> {
  const extra = o.extra ?? [];
  const dir = join(f.dir, 'out', id);
  const empty = await build(spec, cache, join(dir, '1'), extra);
  assert.deepEqual(empty.reused, [], `${id}: the section cache was empty`);
  assert.ok(empty.compressed.includes('kernel') && empty.compressed.at(-1) === 'trailer', empty.compressed.join());
  const filled = await build(spec, cache, join(dir, '2'), extra);
  assert.deepEqual(filled.compressed, [], `${id}: nothing compressed from the filled section cache`);
  assert.deepEqual(filled.reused, empty.compressed, `${id}: every member replayed`);
  assert.deepEqual(filled.files, empty.files, `${id}: kernel, initrd and cmdline byte-identical`);
  if (o.ls === true) await sectionsKept(cache, empty.compressed.length);
  if (o.again === false) return;
  await rm(join(cache, '.mobyts', 'sections'), { recursive: true, force: true });
  const tmp = join(dir, 'tmp');
  await mkdir(tmp, { recursive: true });
  const other = await build(spec, cache, join(dir, '3'), extra, { TZ: 'Pacific/Chatham', umask: '077', TMPDIR: tmp });
  assert.deepEqual(other.compressed, empty.compressed, `${id}: every member compressed again`);
  assert.deepEqual(other.files, empty.files, `${id}: same bytes under another TZ, umask and TMPDIR`);
  assert.deepEqual(await readdir(tmp), [], `${id}: nothing left in TMPDIR`);
}

/** `mobyts cache ls` counts at least `n` initrd sections in `cache`. */
async function sectionsKept(cache: string, n: number): Promise<void> {
  const ls = await runCli(['cache', 'ls', '--cache', cache], { cwd: f.dir, home: join(f.dir, 'home') });
  assert.equal(ls.code, 0, ls.stderr);
  const kept = /^Initrd sections: (\d+) /m.exec(ls.stdout.toString());
  assert.ok(kept !== null && Number(kept[1]) >= n, ls.stdout.toString());
}

const examples = (await readdir(EXAMPLES)).filter((n) => n.endsWith('.yml')).sort();

/** Every image `spec` names, as written. */
async function imagesOf(file: string): Promise<{ kernel: string; others: string[] }> {
  const { spec } = await loadSpecs([file]);
  const named = (xs: Array<{ image?: string }> | undefined): string[] =>
    (xs ?? []).flatMap((x) => (x.image === undefined ? [] : [x.image]));
  const kernel = spec.kernel?.image;
  assert.ok(kernel !== undefined, file);
  return {
    kernel,
    others: [
      ...(spec.init ?? []),
      ...named(spec.onboot),
      ...named(spec.services),
      ...named(spec.onshutdown),
      ...named(spec.volumes),
    ],
  };
}

/** Pushes a stand-in for each of `refs` (Docker Hub names) to the test registry under its repository and tag. */
async function pushStandIns(kernel: string, others: string[]): Promise<void> {
  const at = (name: string): string => {
    const ref = parseReference(name);
    assert.equal(ref.registry, 'docker.io', name);
    return `${ref.repository}:${ref.tag ?? 'latest'}`;
  };
  const kernelImage = await buildImage({
    layers: [
      {
        entries: [
          { type: 'file', path: 'kernel', content: `KERNEL ${kernel}`, mode: 0o644, mtime: MTIME },
          { type: 'file', path: 'kernel.tar', content: await layerTar(KERNEL_TAR), mtime: MTIME },
        ],
      },
    ],
  });
  await pushImage(f.host, at(kernel), kernelImage);
  for (const name of new Set(others)) {
    const image = await buildImage({
      layers: [
        {
          entries: [
            { type: 'dir', path: 'etc', mtime: MTIME },
            { type: 'file', path: 'etc/stand-in', content: name, mtime: MTIME },
          ],
        },
      ],
      config: { Entrypoint: ['/bin/true'] },
    });
    await pushImage(f.host, at(name), image);
  }
}

for (const name of examples.filter((n) => n !== 'hello.yml')) {
  void test(`examples/${name} from stand-ins of its Docker Hub images (--mirror)`, async () => {
    const file = join(EXAMPLES, name);
    const { kernel, others } = await imagesOf(file);
    await pushStandIns(kernel, others);
    const extra = ['--mirror', `docker.io=http://${f.host}`];
    if (name === 'moby-2017.yml') extra.push('--disable-content-trust');
    await builds(name, file, join(f.dir, `cache-${name}`), { extra });
  });
}

void test('the bench case shapes (small mode) from the test registry', async () => {
  const cfg = benchConfig(true);
  const pool = contentPool(cfg.poolBytes);
  for (const c of cfg.cases) {
    const pushed = await pushPlan(f.host, planImages(c, cfg), { pool, bzImageBytes: cfg.bzImageBytes });
    const spec = await f.spec(`${c.id}.yml`, specYaml(pushed, 1));
    await builds(`bench-${c.id}`, spec, join(f.dir, `cache-bench-${c.id}`), { again: c.id === 'ref' });
  }
});

void test('examples/hello.yml from the offline example packages', async () => {
  const store = await packages;
  await builds('hello', join(EXAMPLES, 'hello.yml'), store.dir, { extra: ['--arch', 'amd64'], ls: true });
});
