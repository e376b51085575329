/** Media types and compressions a pull must handle, and attestations kept aside for the SBOM. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { parseReference } from '../../src/oci/reference.ts';
import { MediaType } from '../../src/oci/types.ts';
import { openStore, platformFor } from '../../src/store/index.ts';
import { recordingReporter } from '../../src/util/reporter.ts';
import { decompressed } from '../../src/tar/decompress.ts';
import { buildImage, buildIndex, pushImage, randomLayer } from '../helpers/images.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

void describe('media types, compressions and attestations', () => {
  let reg: TestRegistry;
  let cache: string;
  before(async () => {
    reg = await startRegistry();
    cache = await mkdtemp(join(tmpdir(), 'mobyts-formats-'));
  });
  after(async () => {
    await reg.stop();
    await rm(cache, { recursive: true, force: true });
  });

  void it('pulls gzip, zstd and uncompressed layers whose bytes decompress to the pushed tars', async () => {
    const img = await buildImage({
      layers: [
        randomLayer({ compression: 'gzip' }),
        randomLayer({ compression: 'zstd' }),
        randomLayer({ compression: 'none' }),
      ],
    });
    assert.deepEqual(
      img.manifest.layers.map((l) => l.mediaType),
      [MediaType.OCI_LAYER_GZIP, MediaType.OCI_LAYER_ZSTD, MediaType.OCI_LAYER],
    );
    await pushImage(reg.host, 'fmt/comp:1', img);
    const src = await (
      await openStore(cache)
    ).getImage(parseReference(`${reg.host}/fmt/comp:1`), reg.pullOptions(platformFor('amd64')));
    for (const [i, layer] of src.manifest.layers.entries()) {
      assert.deepEqual(await buffer(await decompressed(await src.openLayer(layer))), img.layers[i]?.tar);
    }
  });

  void it('pulls a Docker manifest list with Docker v2 manifests', async () => {
    const idx = await buildIndex([{ platform: { architecture: 'amd64' } }, { platform: { architecture: 's390x' } }], {
      mediaTypes: 'docker',
    });
    assert.equal(idx.index.mediaType, MediaType.DOCKER_MANIFEST_LIST);
    await pushImage(reg.host, 'fmt/docker:1', idx);
    const src = await (
      await openStore(cache)
    ).getImage(parseReference(`${reg.host}/fmt/docker:1`), reg.pullOptions(platformFor('s390x')));
    assert.equal(src.manifest.mediaType, MediaType.DOCKER_MANIFEST);
    assert.equal(src.rootDescriptor.mediaType, MediaType.DOCKER_MANIFEST_LIST);
    assert.equal(src.config.architecture, 's390x');
    assert.equal(src.manifest.layers[0]?.mediaType, MediaType.DOCKER_LAYER_GZIP);
  });

  void it("skips attestation manifests for the rootfs but keeps this platform's attestation readable", async () => {
    const sbom = { spdxVersion: 'SPDX-2.3', name: 'arm64-sbom', packages: [{ name: 'busybox' }] };
    const idx = await buildIndex(
      [{ platform: { architecture: 'amd64' } }, { platform: { architecture: 'arm64' }, sbom }],
      { attestations: true },
    );
    await pushImage(reg.host, 'fmt/att:1', idx);
    const store = await openStore(cache);
    const src = await store.getImage(parseReference(`${reg.host}/fmt/att:1`), reg.pullOptions(platformFor('arm64')));
    assert.equal(src.manifestDigest, idx.images[1]?.descriptor.digest);
    assert.equal(src.attestations.length, 1);
    const att = src.attestations[0]!;
    assert.equal(att.descriptor.annotations?.['vnd.docker.reference.digest'], src.manifestDigest);
    const layer = att.manifest.layers[0]!;
    assert.equal(layer.mediaType, MediaType.IN_TOTO);
    const statement = JSON.parse((await buffer(await src.openBlob(layer.digest, layer.size))).toString()) as {
      predicate: unknown;
    };
    assert.deepEqual(statement.predicate, sbom);
    // the amd64 attestation's layer was not downloaded
    const amdAtt = idx.attestations[0]!.manifest.layers[0]!;
    assert.equal(await store.hasBlob(amdAtt.digest), false);
    // and the cached copy serves the same, offline
    const cached = await store.getCachedImage(parseReference(`${reg.host}/fmt/att:1`), platformFor('arm64'));
    assert.equal(cached?.attestations.length, 1);
  });

  void it('pulls by digest and pins the reference', async () => {
    const img = await buildImage();
    const digest = await pushImage(reg.host, 'fmt/pinned:1', img);
    const ref = parseReference(`${reg.host}/fmt/pinned@${digest}`);
    const src = await (await openStore(cache)).getImage(ref, reg.pullOptions(platformFor('amd64')));
    assert.equal(src.ref.expanded, `${reg.host}/fmt/pinned@${digest}`);
    assert.equal(src.manifestDigest, digest);
  });

  void it('uses a single-platform image for another arch as LinuxKit does, with a warning', async () => {
    const img = await buildImage({ platform: { architecture: 'amd64' } });
    await pushImage(reg.host, 'fmt/amd-only:1', img);
    const reporter = recordingReporter();
    const src = await (
      await openStore(cache)
    ).getImage(parseReference(`${reg.host}/fmt/amd-only:1`), reg.pullOptions(platformFor('riscv64'), { reporter }));
    assert.equal(src.manifestDigest, img.descriptor.digest);
    assert.deepEqual(
      reporter.events.filter((e) => e.type === 'warn'),
      [
        {
          type: 'warn',
          message: `${reg.host}/fmt/amd-only:1@${img.descriptor.digest} is a single-platform image for linux/amd64, used as is for linux/riscv64`,
        },
      ],
    );
  });
});
