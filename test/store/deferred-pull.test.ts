/**
 * Pulls whose layers are fetched as the build needs them (GetImageOptions `layers`, docs/formats.md "Layers as
 * the build needs them"), against the real registry with a fault proxy in between: the source comes back once
 * manifests and config are stored; a layer read waits for that layer; the image is named in the cache only once
 * whole; a failing layer is one clear error and names nothing; stopping leaves no temp file.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseReference } from '../../src/oci/reference.ts';
import { openStore, platformFor, type StoreImageSource, type StoreOptions } from '../../src/store/index.ts';
import { verifyCache } from '../../src/store/maintenance.ts';
import { buildImage, pushImage, randomLayer } from '../helpers/images.ts';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const fast: StoreOptions = { client: { retry: { baseDelayMs: 1, maxDelayMs: 20, tries: 2 } } };

let reg: TestRegistry;
let proxy: FaultProxy;
let root: string;
let n = 0;

before(async () => {
  reg = await startRegistry();
  proxy = await startFaultProxy(reg.url);
  root = await mkdtemp(join(tmpdir(), 'mobyts-deferred-pull-'));
});
after(async () => {
  await proxy.stop();
  await reg.stop();
  await rm(root, { recursive: true, force: true });
});

/** A 3-layer image pushed under a new name; a fresh cache; what the proxy saw cleared. */
async function setup(): Promise<{ ref: string; layers: string[]; cache: string }> {
  const img = await buildImage({
    layers: [0, 1, 2].map(() => randomLayer({ files: 3, size: 48 * 1024, compression: 'gzip' })),
  });
  const name = `deferred/img${n++}:1`;
  await pushImage(reg.host, name, img);
  const cache = await mkdtemp(join(root, 'cache-'));
  proxy.clear();
  proxy.requests.length = 0;
  return { ref: `${proxy.host}/${name}`, layers: img.manifest.layers.map((l) => l.digest), cache };
}

async function get(cache: string, ref: string, layers: 'prefetch' | 'on-demand'): Promise<StoreImageSource> {
  const store = await openStore(cache, fast);
  return store.getImage(parseReference(ref), { ...reg.pullOptions(platformFor('amd64')), layers });
}

const layerGets = (digests: string[]): number =>
  proxy.requests.filter((r) => r.method === 'GET' && digests.some((d) => r.path.endsWith(`/blobs/${d}`))).length;

async function drain(source: StoreImageSource, i: number): Promise<number> {
  let bytes = 0;
  for await (const c of await source.openLayer(source.manifest.layers[i] as (typeof source.manifest.layers)[number]))
    bytes += (c as Buffer).length;
  return bytes;
}

async function named(cache: string, ref: string): Promise<boolean> {
  const store = await openStore(cache);
  try {
    return (await store.getCachedImage(parseReference(ref), platformFor('amd64'))) !== undefined;
  } finally {
    await store.close();
  }
}

void test('prefetch: the source comes back before the image is named; every layer arrives; finish names it whole', async () => {
  const { ref, layers, cache } = await setup();
  const source = await get(cache, ref, 'prefetch');
  assert.ok(source.pull !== undefined);
  assert.equal(await named(cache, ref), false, 'not named before finish');
  assert.ok((await drain(source, 2)) > 0);
  assert.equal(await source.pull.finish(true), true);
  assert.equal(await named(cache, ref), true);
  assert.equal(layerGets(layers), 3, 'each layer fetched once');
  const store = await openStore(cache);
  assert.deepEqual((await verifyCache(store.layout)).problems, []);
  await store.close();
});

void test('on-demand: only the layer read is fetched, and an image not held whole is not named', async () => {
  const { ref, layers, cache } = await setup();
  const source = await get(cache, ref, 'on-demand');
  assert.equal(layerGets(layers), 0, 'no layer fetched up front');
  await drain(source, 1);
  assert.equal(await source.pull?.finish(false), false);
  assert.equal(layerGets(layers), 1);
  assert.deepEqual(
    layers.map((d) => (proxy.requests.some((r) => r.path.endsWith(`/blobs/${d}`)) ? 'fetched' : '-')),
    ['-', 'fetched', '-'],
  );
  assert.equal(await named(cache, ref), false);
  // a later ordinary pull fetches the rest (the layer already there is reused) and names it
  proxy.requests.length = 0;
  const store = await openStore(cache, fast);
  await store.getImage(parseReference(ref), reg.pullOptions(platformFor('amd64')));
  await store.close();
  assert.equal(layerGets(layers), 2);
  assert.equal(await named(cache, ref), true);
});

void test('a layer the registry keeps failing: reading it gives the registry error; abort names nothing and leaves no temp file', async () => {
  const { ref, layers, cache } = await setup();
  const bad = layers[1] as string;
  proxy.add({ match: new RegExp(`/blobs/${bad}$`), method: 'GET', kind: 'status', status: 500, times: Infinity });
  const source = await get(cache, ref, 'prefetch');
  await assert.rejects(drain(source, 1), (err: Error) => {
    assert.match(err.message, /HTTP 500/);
    assert.doesNotMatch(err.message, /\n\s+at /);
    return true;
  });
  await source.pull?.abort();
  assert.equal(await named(cache, ref), false);
  assert.deepEqual(await readdir(join(cache, '.mobyts', 'tmp')), []);
});

void test('abort while a layer is still downloading slowly: it stops at once, names nothing, leaves no temp file', async () => {
  const { ref, layers, cache } = await setup();
  // every layer answers after 30 s: an abort that waited for the downloads would take that long
  proxy.add({
    match: new RegExp(`/blobs/(${layers.join('|')})$`),
    method: 'GET',
    kind: 'slow',
    delayMs: 30_000,
    times: Infinity,
  });
  const source = await get(cache, ref, 'prefetch');
  for (let i = 0; i < 100 && layerGets(layers) === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(layerGets(layers) >= 1, 'a layer download is under way');
  const started = performance.now();
  await source.pull?.abort();
  assert.ok(performance.now() - started < 15_000, `abort took ${Math.round(performance.now() - started)} ms`);
  assert.equal(await named(cache, ref), false);
  assert.deepEqual(await readdir(join(cache, '.mobyts', 'tmp')), []);
});
