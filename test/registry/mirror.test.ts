/** --mirror: a real pull-through cache registry (proxy.remoteurl) in front of an upstream, and fallback. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseReference } from '../../src/oci/reference.ts';
import { openStore, platformFor } from '../../src/store/index.ts';
import { buildImage, pushImage } from '../helpers/images.ts';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const fast = { client: { retry: { baseDelayMs: 1, maxDelayMs: 5 } } };

void describe('mirrors', () => {
  let upstream: TestRegistry;
  let mirror: TestRegistry;
  let spy: FaultProxy;
  const dirs: string[] = [];
  before(async () => {
    upstream = await startRegistry();
    mirror = await startRegistry({ proxyRemoteUrl: upstream.url });
    spy = await startFaultProxy(mirror.url);
  });
  after(async () => {
    await spy.stop();
    await mirror.stop();
    await upstream.stop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  async function cache(): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), 'mobyts-mirror-'));
    dirs.push(d);
    return d;
  }

  void it('a bare mirror URL serves docker.io images (through a pull-through cache)', async () => {
    const img = await buildImage({ config: { Cmd: ['hello'] } });
    await pushImage(upstream.host, 'library/hello:1', img);
    const store = await openStore(await cache(), fast);
    const src = await store.getImage(
      parseReference('hello:1'),
      upstream.pullOptions(platformFor('amd64'), { registry: { mirrors: [spy.url], insecureRegistries: [] } }),
    );
    assert.equal(src.ref.expanded, `docker.io/library/hello:1@${img.descriptor.digest}`);
    assert.deepEqual(src.config.config?.Cmd, ['hello']);
    assert.ok(spy.requests.some((r) => r.path === '/v2/library/hello/manifests/1'));
    assert.equal(await store.getRef('docker.io/library/hello:1').then((d) => d?.digest), img.descriptor.digest);
  });

  void it('REGISTRY=URL mirrors that registry and falls back to it when the mirror fails', async () => {
    const img = await buildImage();
    await pushImage(upstream.host, 'team/app:2', img);
    const broken = await startFaultProxy(mirror.url);
    try {
      broken.add({ match: /./, kind: 'status', status: 503, times: Infinity });
      const store = await openStore(await cache(), fast);
      const src = await store.getImage(
        parseReference(`${upstream.host}/team/app:2`),
        upstream.pullOptions(platformFor('amd64'), {
          registry: { mirrors: [`${upstream.host}=${broken.url}`], insecureRegistries: [] },
        }),
      );
      assert.equal(src.manifestDigest, img.descriptor.digest);
      assert.equal(
        broken.requests.length,
        5,
        'the mirror was tried first (5 attempts), then skipped for the rest of the pull',
      );
    } finally {
      await broken.stop();
    }
  });

  void it('a mirror that demands credentials we lack does not hide the registry', async () => {
    const img = await buildImage();
    await pushImage(upstream.host, 'team/app:3', img);
    const locked = await startFaultProxy(mirror.url);
    try {
      locked.add({ match: /./, kind: 'unauthorized', times: Infinity });
      const store = await openStore(await cache(), fast);
      const src = await store.getImage(
        parseReference(`${upstream.host}/team/app:3`),
        upstream.pullOptions(platformFor('amd64'), {
          registry: { mirrors: [`${upstream.host}=${locked.url}`], insecureRegistries: [] },
        }),
      );
      assert.equal(src.manifestDigest, img.descriptor.digest);
      assert.equal(locked.requests.length, 1, 'tried once, then skipped for the rest of the pull');
    } finally {
      await locked.stop();
    }
  });
});
