import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseReference } from '../../src/oci/reference.ts';
import { openStore, platformFor } from '../../src/store/index.ts';
import { recordingReporter } from '../../src/util/reporter.ts';
import { buildImage, buildIndex, pushImage, randomLayer } from '../helpers/images.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

async function drain(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

void describe('pull from the real registry (anonymous)', () => {
  let reg: TestRegistry;
  let cache: string;
  before(async () => {
    reg = await startRegistry();
    cache = await mkdtemp(join(tmpdir(), 'mobyts-cache-'));
  });
  after(async () => {
    await reg.stop();
    await rm(cache, { recursive: true, force: true });
  });

  void it('pulls the requested platform of an index and records it in index.json', async () => {
    const idx = await buildIndex([
      { platform: { architecture: 'amd64' } },
      {
        platform: { architecture: 'arm64', variant: 'v8' },
        layers: [randomLayer(), randomLayer({ compression: 'zstd' })],
      },
    ]);
    await pushImage(reg.host, 'test/multi:1', idx);
    const store = await openStore(cache);
    const ref = parseReference(`${reg.host}/test/multi:1`);
    const src = await store.getImage(ref, reg.pullOptions(platformFor('arm64')));
    const arm = idx.images[1]!;
    assert.equal(src.manifestDigest, arm.descriptor.digest);
    assert.equal(src.ref.expanded, `${reg.host}/test/multi:1@${idx.descriptor.digest}`);
    assert.deepEqual(src.config.rootfs.diff_ids, arm.config.rootfs.diff_ids);
    for (const layer of src.manifest.layers) {
      assert.deepEqual(await drain(await src.openLayer(layer)), arm.blobs.get(layer.digest));
    }
    const index = JSON.parse(await readFile(join(cache, 'index.json'), 'utf8')) as {
      manifests: Array<{ digest: string; annotations: Record<string, string> }>;
    };
    assert.deepEqual(
      index.manifests.map((m) => [m.digest, m.annotations['org.opencontainers.image.ref.name']]),
      [[idx.descriptor.digest, `${reg.host}/test/multi:1`]],
    );
    // amd64 layers were not downloaded, its manifest was (LinuxKit writes every child manifest)
    assert.equal(await store.hasBlob(idx.images[0]!.layers[0]!.descriptor.digest), false);
    assert.equal(await store.hasBlob(idx.images[0]!.descriptor.digest), true);
  });

  void it('serves a cached image without the network', async () => {
    const own = await startRegistry();
    try {
      const img = await buildImage({ config: { Entrypoint: ['/bin/true'] } });
      await pushImage(own.host, 'test/single:1', img);
      const store = await openStore(cache);
      const ref = parseReference(`${own.host}/test/single:1`);
      await store.getImage(ref, own.pullOptions(platformFor('amd64')));
      await own.stop();
      const again = await store.getImage(ref, own.pullOptions(platformFor('amd64')));
      assert.deepEqual(again.config.config?.Entrypoint, ['/bin/true']);
      assert.equal(again.manifestDigest, img.descriptor.digest);
    } finally {
      await own.stop();
    }
  });

  void it('names the platforms an index has when the one asked for is missing', async () => {
    const idx = await buildIndex([{ platform: { architecture: 'amd64' } }, { platform: { architecture: '386' } }]);
    await pushImage(reg.host, 'test/noarm:1', idx);
    const store = await openStore(cache);
    await assert.rejects(
      store.getImage(parseReference(`${reg.host}/test/noarm:1`), reg.pullOptions(platformFor('arm64'))),
      {
        message: `Cannot pull "${reg.host}/test/noarm:1" for linux/arm64: no manifest for that platform (have linux/amd64, linux/386)`,
      },
    );
  });

  void it('reports per-image byte progress and one done event', async () => {
    const img = await buildImage({ layers: [randomLayer({ files: 2, size: 200_000, compression: 'none' })] });
    await pushImage(reg.host, 'test/progress:1', img);
    const reporter = recordingReporter();
    const store = await openStore(cache);
    await store.getImage(
      parseReference(`${reg.host}/test/progress:1`),
      reg.pullOptions(platformFor('amd64'), { reporter }),
    );
    const subject = `${reg.host}/test/progress:1`;
    const total = img.manifest.config.size + img.manifest.layers.reduce((n, l) => n + l.size, 0);
    const progress = reporter.events.filter((e) => e.type === 'progress');
    assert.ok(progress.length >= 1);
    assert.deepEqual(progress.at(-1), { type: 'progress', subject, done: total, total, unit: 'bytes' });
    const done = reporter.events.filter((e) => e.type === 'done');
    assert.equal(done.length, 1);
    assert.equal(done[0]?.type === 'done' ? done[0].bytes : -1, total);
  });
});
