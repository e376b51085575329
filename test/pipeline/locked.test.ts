/**
 * `build --locked`: the digests `mobyts lock` pinned are built even after the tag moved; without the lock,
 * `--pull` follows the tag. Real registry, real CLI.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildImage, pushImage } from '../helpers/images.ts';
import { runCli, startFixture, type Fixture } from './fixture.ts';

let f: Fixture;
before(async () => {
  f = await startFixture();
});
after(() => f.cleanup());

const seed = (tar: Buffer): string =>
  execFileSync('tar', ['-xOf', '-', 'containers/volumes/v/lower/data/seed'], {
    input: tar,
    stdio: ['pipe', 'pipe', 'ignore'],
  }).toString();

void test('--locked builds the pinned digest after the tag moved; --pull without it follows the tag', async () => {
  const spec = await f.spec('locked.yml', 'volumes:\n  - name: v\n    image: HOST/test/data:1\n');
  const lock = await runCli(['lock', spec], { home: join(f.dir, 'home'), cwd: f.dir });
  assert.equal(lock.code, 0, lock.stderr);
  await pushImage(
    f.host,
    'test/data:1',
    await buildImage({
      layers: [
        {
          entries: [
            { type: 'dir', path: 'data' },
            { type: 'file', path: 'data/seed', content: 'moved' },
          ],
        },
      ],
    }),
  );
  const locked = await f.cli(['--locked', '--no-sbom', '-o', '-', spec]);
  assert.equal(locked.code, 0, locked.stderr);
  assert.equal(seed(locked.stdout), 'seed');
  const pulled = await f.cli(['--pull', '--no-sbom', '-o', '-', spec]);
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.equal(seed(pulled.stdout), 'moved');
  const missing = await f.cli(['--locked', join(f.dir, 'none.lock'), '-o', '-', spec]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^Error: .*none\.lock/m);
});
