/** Fault injection between the client and the real registry: each fault ends in a retry that succeeds or a clear error. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseReference } from '../../src/oci/reference.ts';
import { openStore, platformFor, type StoreOptions } from '../../src/store/index.ts';
import { verifyCache } from '../../src/store/maintenance.ts';
import { staticCredentialStore } from '../../src/registry/credentials.ts';
import { buildImage, pushImage, randomLayer, type BuiltImage } from '../helpers/images.ts';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const fast: StoreOptions = { client: { retry: { baseDelayMs: 1, maxDelayMs: 20 } } };

void describe('registry faults', () => {
  let reg: TestRegistry;
  let proxy: FaultProxy;
  const dirs: string[] = [];
  let n = 0;
  before(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxy(reg.url);
  });
  after(async () => {
    await proxy.stop();
    await reg.stop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function setup(): Promise<{ img: BuiltImage; name: string; cache: string }> {
    const img = await buildImage({ layers: [randomLayer({ files: 4, size: 64 * 1024, compression: 'none' })] });
    const name = `faults/img${n++}:1`;
    await pushImage(reg.host, name, img);
    const cache = await mkdtemp(join(tmpdir(), 'mobyts-faults-'));
    dirs.push(cache);
    proxy.clear();
    return { img, name, cache };
  }

  async function assertCacheSound(cache: string): Promise<void> {
    const store = await openStore(cache);
    assert.deepEqual((await verifyCache(store.layout)).problems, []);
    assert.deepEqual(await readdir(join(cache, '.mobyts', 'tmp')), [], 'no temp files left');
  }

  void it('retries 500s and succeeds', async () => {
    const { img, name, cache } = await setup();
    proxy.add({ match: /\/manifests\//, kind: 'status', status: 500, times: 2 });
    const store = await openStore(cache, fast);
    const src = await store.getImage(parseReference(`${proxy.host}/${name}`), reg.pullOptions(platformFor('amd64')));
    assert.equal(src.manifestDigest, img.descriptor.digest);
    assert.equal(proxy.requests.filter((r) => r.path.includes('/manifests/1')).length, 3);
    await assertCacheSound(cache);
  });

  void it('waits as long as Retry-After says on 429 (within the cap)', async () => {
    const { name, cache } = await setup();
    proxy.add({ match: /\/blobs\//, kind: 'status', status: 429, retryAfter: '2', times: 1 });
    const waits: number[] = [];
    const store = await openStore(cache, {
      client: {
        retry: {
          baseDelayMs: 1,
          maxDelayMs: 60_000,
          sleep: (ms) => {
            waits.push(ms);
            return Promise.resolve();
          },
        },
      },
    });
    await store.getImage(parseReference(`${proxy.host}/${name}`), reg.pullOptions(platformFor('amd64')));
    assert.deepEqual(waits, [2000]);
    await assertCacheSound(cache);
  });

  void it('resumes a blob with Range after the connection resets mid-blob', async () => {
    const { img, name, cache } = await setup();
    const layer = img.manifest.layers[0]!;
    proxy.add({ match: new RegExp(`/blobs/${layer.digest}`), kind: 'reset', afterBytes: 100_000 });
    const store = await openStore(cache, fast);
    const src = await store.getImage(parseReference(`${proxy.host}/${name}`), reg.pullOptions(platformFor('amd64')));
    assert.equal(src.manifestDigest, img.descriptor.digest);
    const blobGets = proxy.requests.filter((r) => r.path.endsWith(layer.digest) && r.method === 'GET');
    assert.equal(
      blobGets.length,
      2,
      JSON.stringify(proxy.requests.map((r) => [r.method, r.path, r.headers.range, r.fault])),
    );
    assert.equal(blobGets[1]?.headers.range, 'bytes=100000-');
    await assertCacheSound(cache);
  });

  void it('resumes a truncated blob (short body, clean end)', async () => {
    const { img, name, cache } = await setup();
    const layer = img.manifest.layers[0]!;
    proxy.add({ match: new RegExp(`/blobs/${layer.digest}`), kind: 'truncate', afterBytes: 5000 });
    const store = await openStore(cache, fast);
    await store.getImage(parseReference(`${proxy.host}/${name}`), reg.pullOptions(platformFor('amd64')));
    assert.equal(proxy.requests.filter((r) => r.path.endsWith(layer.digest))[1]?.headers.range, 'bytes=5000-');
    await assertCacheSound(cache);
  });

  void it('rejects wrong bytes naming the image, the blob and both digests, and stores nothing', async () => {
    const { img, name, cache } = await setup();
    const layer = img.manifest.layers[0]!;
    proxy.add({ match: new RegExp(`/blobs/${layer.digest}`), kind: 'corrupt' });
    const store = await openStore(cache, fast);
    const err = await store
      .getImage(parseReference(`${proxy.host}/${name}`), reg.pullOptions(platformFor('amd64')))
      .catch((e: unknown) => e);
    assert.ok(err instanceof Error);
    assert.match(
      err.message,
      new RegExp(
        `^Cannot pull "${proxy.host}/${name}": blob ${layer.digest} does not match its digest \\(expected ${layer.digest}, got sha256:[0-9a-f]{64}\\)$`,
      ),
    );
    assert.equal(await store.hasBlob(layer.digest), false);
    assert.equal(await store.getRef(`${proxy.host}/${name}`), undefined);
    await assertCacheSound(cache);
  });

  void it('names what timed out on a slow server', async () => {
    const { name, cache } = await setup();
    proxy.add({ match: /\/manifests\//, kind: 'slow', delayMs: 1500, times: Infinity });
    const store = await openStore(cache, {
      client: { retry: { tries: 2, baseDelayMs: 1, maxDelayMs: 5 }, timeouts: { headersMs: 200 } },
    });
    await assert.rejects(
      store.getImage(parseReference(`${proxy.host}/${name}`), reg.pullOptions(platformFor('amd64'))),
      (err: Error) => {
        assert.equal(err.message, `Cannot pull "${proxy.host}/${name}": cannot reach ${proxy.host} (after 2 attempts)`);
        assert.equal(
          (err.cause as Error).message,
          `HEAD http://${proxy.host}/v2/${name.replace(':1', '')}/manifests/1: no response headers from ${proxy.host} within 0.2s`,
        );
        return true;
      },
    );
    await assertCacheSound(cache);
  });

  void it('stops a 401 loop with a clear error that does not leak the password', async () => {
    const { name, cache } = await setup();
    proxy.add({ match: /\/v2\//, kind: 'unauthorized', times: Infinity });
    const secret = 'hunter2-very-secret';
    const store = await openStore(cache, {
      client: {
        ...fast.client,
        credentials: staticCredentialStore({ [proxy.host]: { kind: 'basic', username: 'u', password: secret } }),
      },
    });
    const err = await store
      .getImage(parseReference(`${proxy.host}/${name}`), reg.pullOptions(platformFor('amd64')))
      .catch((e: unknown) => e);
    assert.ok(err instanceof Error);
    assert.equal(
      err.message,
      `Cannot pull "${proxy.host}/${name}": not authorized (HEAD http://${proxy.host}/v2/faults/${name.split('/')[1]!.replace(':1', '')}/manifests/1 → HTTP 401)`,
    );
    assert.equal((err as { code?: string }).code, 'AUTH');
    assert.ok(!JSON.stringify(err).includes(secret) && !String(err.stack).includes(secret));
    assert.equal(proxy.requests.length, 2, 'one challenge answered, then give up');
    assert.ok(String(proxy.requests[1]?.headers.authorization).startsWith('Basic '));
    await assertCacheSound(cache);
  });

  void it('gives up on persistent 500s saying how often it tried', async () => {
    const { name, cache } = await setup();
    proxy.add({ match: /\/manifests\//, kind: 'status', status: 503, times: Infinity });
    const store = await openStore(cache, fast);
    await assert.rejects(
      store.getImage(parseReference(`${proxy.host}/${name}`), reg.pullOptions(platformFor('amd64'))),
      {
        message: new RegExp(
          `^Cannot pull "${proxy.host}/${name}": the registry failed \\(HEAD http://${proxy.host}/v2/.*/manifests/1 → HTTP 503, after 5 attempts\\)$`,
        ),
      },
    );
  });

  void it('falls back to GET when HEAD is refused', async () => {
    const { img, name, cache } = await setup();
    proxy.add({ match: /\/manifests\//, method: 'HEAD', kind: 'status', status: 405, times: Infinity });
    const store = await openStore(cache, fast);
    const src = await store.getImage(parseReference(`${proxy.host}/${name}`), reg.pullOptions(platformFor('amd64')));
    assert.equal(src.manifestDigest, img.descriptor.digest);
    assert.deepEqual(
      proxy.requests.filter((r) => r.path.includes('/manifests/')).map((r) => r.method),
      ['HEAD', 'GET'],
    );
    await assertCacheSound(cache);
  });

  void it('an aborted pull (Ctrl-C) leaves no temp file, no lock and no index entry', async () => {
    const { img, name, cache } = await setup();
    const layer = img.manifest.layers[0]!;
    proxy.add({ match: new RegExp(`/blobs/${layer.digest}`), kind: 'reset', afterBytes: 50_000 }); // the proxy then stalls 300 ms
    const controller = new AbortController();
    const store = await openStore(cache, fast);
    const pulling = store.getImage(
      parseReference(`${proxy.host}/${name}`),
      reg.pullOptions(platformFor('amd64'), { signal: controller.signal }),
    );
    setTimeout(() => controller.abort(new Error('interrupted by SIGINT')), 150);
    await assert.rejects(pulling);
    assert.equal(await store.hasBlob(layer.digest), false);
    assert.equal(await store.getRef(`${proxy.host}/${name}`), undefined);
    assert.deepEqual(await readdir(join(cache, '.mobyts', 'locks')), []);
    await assertCacheSound(cache);
  });
});
