/** The cache is a plain OCI layout: other OCI tools (skopeo here, as a stand-in for linuxkit's ggcr) read and write it. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseReference } from '../../src/oci/reference.ts';
import { openStore, platformFor } from '../../src/store/index.ts';
import { verifyCache } from '../../src/store/maintenance.ts';
import { buildImage, buildIndex, pushImage } from '../helpers/images.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const exec = promisify(execFile);

void describe('OCI layout interop', () => {
  let reg: TestRegistry;
  let work: string;
  before(async () => {
    reg = await startRegistry();
    work = await mkdtemp(join(tmpdir(), 'mobyts-interop-'));
  });
  after(async () => {
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  });

  void it('skopeo reads an image from our cache by its ref.name', async () => {
    const idx = await buildIndex([{ platform: { architecture: 'amd64' } }, { platform: { architecture: 'arm64' } }]);
    await pushImage(reg.host, 'interop/out:1', idx);
    const cache = join(work, 'ours');
    const name = `${reg.host}/interop/out:1`;
    await (await openStore(cache)).getImage(parseReference(name), reg.pullOptions(platformFor('amd64')));
    await exec('skopeo', [
      'copy',
      '--quiet',
      '--override-arch',
      'amd64',
      '--dest-tls-verify=false',
      `oci:${cache}:${name}`,
      `docker://${reg.host}/interop/back:1`,
    ]);
    const back = await (
      await openStore(join(work, 'back'))
    ).getImage(parseReference(`${reg.host}/interop/back:1`), reg.pullOptions(platformFor('amd64')));
    assert.equal(back.rootDescriptor.digest, idx.images[0]?.descriptor.digest);
  });

  void it('we read, offline, an image skopeo wrote into a layout, and the layout verifies', async () => {
    const img = await buildImage({ config: { Env: ['FROM=skopeo'] } });
    await pushImage(reg.host, 'interop/in:1', img);
    const layout = join(work, 'theirs');
    await exec('skopeo', [
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      `docker://${reg.host}/interop/in:1`,
      `oci:${layout}:docker.io/team/in:1`,
    ]);
    const store = await openStore(layout);
    const src = await store.getCachedImage(parseReference('team/in:1'), platformFor('amd64'));
    assert.deepEqual(src?.config.config?.Env, ['FROM=skopeo']);
    assert.equal(src?.manifest.layers.length, 1);
    assert.deepEqual((await verifyCache(store.layout)).problems, []);
  });
});
