// The real CLI's `mobyts pkg build --platforms linux/amd64,linux/arm64` on the smallest offline example
// package (examples/packages/busybox: the host's busybox for amd64, Debian's busybox-static:arm64 .deb for
// arm64, from the .deb cache the other arm64 tests fill) stores one OCI index listing both platforms under the
// package's tag, each manifest's config naming its architecture (docs/formats.md#arm64).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { after, test } from 'node:test';
import { parseReference } from '../../src/oci/reference.ts';
import { packageInfo } from '../../src/pkg/tag.ts';
import { openStore } from '../../src/store/index.ts';
import type { Descriptor } from '../../src/oci/types.ts';
import { REPO, runCli } from '../pipeline/fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'mobyts-pkg-platforms-'));
after(() => rmSync(dir, { recursive: true, force: true }));

void test('pkg build --platforms linux/amd64,linux/arm64 caches one OCI index listing both platforms', async () => {
  const pkg = join(REPO, 'examples/packages/busybox');
  const cache = join(dir, 'cache');
  // the child gets its own HOME; the arm64 .deb comes from the cache the other tests (and deb.sh) use
  const debCache =
    process.env['MOBYTS_CACHE_HOME'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'mobyts');
  const r = await runCli(['pkg', 'build', '--cache', cache, '--platforms', 'linux/amd64,linux/arm64', pkg], {
    home: dir,
    env: { MOBYTS_CACHE_HOME: debCache },
  });
  assert.equal(r.code, 0, r.stderr);

  const store = await openStore(cache);
  const root = await store.getRef(parseReference((await packageInfo(pkg)).ref).expanded);
  assert.ok(root !== undefined, `no ${(await packageInfo(pkg)).ref} in the cache`);
  const json = async (d: Descriptor): Promise<unknown> =>
    JSON.parse((await buffer(await store.openBlob(d.digest, d.size))).toString());
  const index = (await json(root)) as { mediaType: string; manifests: Descriptor[] };
  assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
  assert.deepEqual(
    index.manifests.map((m) => m.platform),
    [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ],
  );
  for (const m of index.manifests) {
    const manifest = (await json(m)) as { config: Descriptor };
    const config = (await json(manifest.config)) as { os: string; architecture: string };
    assert.deepEqual({ os: config.os, architecture: config.architecture }, m.platform);
  }
});
