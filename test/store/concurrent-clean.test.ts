/**
 * Cleaning a cache that builds are using: 8 builds of different specs on one cache, through the real CLI,
 * while `mobyts cache clean` and `mobyts cache rm` run in a loop on it. Each build either succeeds with
 * exactly the bytes a quiet build of its spec gives, or fails clearly (its image removed before it started
 * and no registry to fetch it again — the registry stays up here, so all succeed); none reads a half-deleted
 * image. While they run their leases are seen under `.mobyts/leases`, and the cache verifies at the end.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { openStore } from '../../src/store/index.ts';
import { cleanCache, removeImages } from '../../src/store/maintenance.ts';
import { buildImage, pushImage } from '../helpers/images.ts';
import { runCli, startFixture, type Fixture } from '../pipeline/fixture.ts';

const BUILDS = 8;
let f: Fixture;
const specs: string[] = [];
const golden: Buffer[] = [];

const specFor = (i: number): string => `
kernel:
  image: HOST/test/kernel:1
  cmdline: "console=ttyS0 build=${i}"
init:
  - HOST/test/init:1
onboot:
  - name: one
    image: HOST/test/svc:1
services:
  - name: app${i}
    image: HOST/test/app${i}:1
${i % 2 === 0 ? '  - name: data\n    image: HOST/test/data:1\n' : ''}`;

function cli(args: string[]): ReturnType<typeof runCli> {
  return runCli(args, { cwd: f.dir, home: join(f.dir, 'home') });
}

function build(i: number, cache: string, out: string): ReturnType<typeof runCli> {
  return cli(['build', '--cache', cache, '-f', 'tar', '-o', out, specs[i] ?? '']);
}

before(async () => {
  f = await startFixture();
  for (let i = 0; i < BUILDS; i++) {
    const layers = [
      {
        entries: [
          { type: 'dir' as const, path: 'app' },
          { type: 'file' as const, path: `app/blob${i}`, content: randomBytes(256 * 1024 + i), mtime: 1700000000 },
        ],
      },
      { entries: [{ type: 'file' as const, path: `app/conf${i}`, content: `conf ${i}\n`, mtime: 1700000000 }] },
    ];
    await pushImage(f.host, `test/app${i}:1`, await buildImage({ layers }));
    specs.push(await f.spec(`os${i}.yml`, specFor(i)));
  }
  // what each spec builds to when nothing else touches the cache
  for (let i = 0; i < BUILDS; i++) {
    const out = join(f.dir, `golden${i}.tar`);
    const r = await build(i, join(f.dir, 'quiet'), out);
    assert.equal(r.code, 0, r.stderr);
    golden.push(await readFile(out));
  }
});
after(() => f.cleanup());

void test(`${BUILDS} builds on one cache while cache clean and cache rm run in a loop: correct bytes or a clear failure; the cache verifies`, async () => {
  const cache = join(f.dir, 'shared');
  let running = true;
  const cleaner = { clean: 0, rm: 0, freedBlobs: 0, maxLeases: 0, errors: [] as string[] };
  // mostly in process (the library calls the CLI makes, so rounds are many), every 8th round the real CLI
  const layout = (await openStore(cache)).layout;
  const clean = (async () => {
    for (let round = 0; running; round++) {
      const viaCli = round % 8 === 0;
      const name = `${f.host}/test/app${round % BUILDS}:1`;
      if (round % 2 === 0) {
        cleaner.clean++;
        if (viaCli) {
          const r = await cli(['cache', 'clean', '--cache', cache]);
          assert.equal(r.code, 0, r.stderr);
          cleaner.freedBlobs += Number(/and (\d+) blobs/.exec(r.stdout.toString())?.[1] ?? 0);
        } else {
          cleaner.freedBlobs += (await cleanCache(layout)).blobs;
        }
      } else {
        cleaner.rm++;
        // the image may not be cached (not pulled yet, or cleaned): that is the one acceptable failure
        if (viaCli) {
          const r = await cli(['cache', 'rm', '--cache', cache, name]);
          if (r.code !== 0) assert.match(r.stderr, /^Error: Cannot remove ".*": it is not in the cache at /, r.stderr);
          else cleaner.freedBlobs += Number(/Freed (\d+) blobs/.exec(r.stdout.toString())?.[1] ?? 0);
        } else {
          cleaner.freedBlobs += await removeImages(layout, [name]).then(
            (x) => x.blobs,
            (err: Error) => {
              assert.match(err.message, /^Cannot remove ".*": it is not in the cache at /);
              return 0;
            },
          );
        }
      }
      const leases = await readdir(join(cache, '.mobyts', 'leases')).catch(() => []);
      cleaner.maxLeases = Math.max(cleaner.maxLeases, leases.length);
      await delay(10);
    }
  })();
  const results = await Promise.all(
    Array.from({ length: BUILDS }, async (_, i) => {
      await delay(i * 150);
      const out = join(f.dir, `shared${i}.tar`);
      return { i, out, r: await build(i, cache, out) };
    }),
  );
  running = false;
  await clean;

  let succeeded = 0;
  for (const { i, out, r } of results) {
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at |vanish/, `build ${i}: ${r.stderr}`);
    if (r.code === 0) {
      assert.ok((await readFile(out)).equals(golden[i] ?? Buffer.alloc(0)), `build ${i} has the quiet build's bytes`);
      succeeded++;
    } else {
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^Error: Cannot (pull|use the cached image) "/, `build ${i} fails clearly: ${r.stderr}`);
    }
  }
  assert.ok(
    cleaner.clean >= 4 && cleaner.rm >= 4,
    `the cleaner ran while the builds did (${cleaner.clean} cleans, ${cleaner.rm} rms)`,
  );
  assert.ok(cleaner.maxLeases >= 1, 'builds held leases while the cleaner ran');
  const v = await cli(['cache', 'verify', '--cache', cache]);
  assert.equal(v.code, 0, v.stdout.toString());
  assert.deepEqual(await readdir(join(cache, '.mobyts', 'leases')), [], 'every build released its lease');
  process.stdout.write(
    `# concurrent cleaning: ${BUILDS} builds (${succeeded} succeeded) + ${BUILDS} quiet builds, ${cleaner.clean} cache clean and ${cleaner.rm} cache rm runs freed ${cleaner.freedBlobs} blobs, up to ${cleaner.maxLeases} leases held at once\n`,
  );
  assert.equal(succeeded, BUILDS, 'with the registry reachable every build succeeds');
});
