/** Parallel builds sharing one cache: 4 processes pull the same images at once. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openStore } from '../../src/store/index.ts';
import { verifyCache } from '../../src/store/maintenance.ts';
import { buildImage, buildIndex, pushImage, randomLayer } from '../helpers/images.ts';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const run = promisify(execFile);

void describe('concurrent pulls into one cache', () => {
  let reg: TestRegistry;
  let spy: FaultProxy;
  let cache: string;
  before(async () => {
    reg = await startRegistry();
    spy = await startFaultProxy(reg.url);
    cache = await mkdtemp(join(tmpdir(), 'mobyts-conc-'));
  });
  after(async () => {
    await spy.stop();
    await reg.stop();
    await rm(cache, { recursive: true, force: true });
  });

  void it('4 processes end with every blob downloaded once, one index entry per name, and a sound cache', async () => {
    const big = () => randomLayer({ files: 8, size: 128 * 1024, compression: 'none' });
    const idx = await buildIndex([{ layers: [big(), big()] }, { platform: { architecture: 'arm64' } }]);
    const single = await buildImage({ layers: [big(), big(), big()] });
    await pushImage(reg.host, 'conc/multi:1', idx);
    await pushImage(reg.host, 'conc/single:1', single);
    spy.clear();
    spy.add({ match: /\/blobs\//, kind: 'slow', delayMs: 300, times: Infinity }); // downloads overlap for sure
    const refs = [`${spy.host}/conc/multi:1`, `${spy.host}/conc/single:1`];
    const worker = join(import.meta.dirname, 'fixtures', 'pull-worker.ts');
    await Promise.all([0, 1, 2, 3].map(() => run(process.execPath, [worker, cache, ...refs])));

    const blobGets = spy.requests.filter((r) => r.method === 'GET' && r.path.includes('/blobs/'));
    const perDigest = new Map<string, number>();
    for (const r of blobGets) perDigest.set(r.path, (perDigest.get(r.path) ?? 0) + 1);
    assert.deepEqual(
      [...perDigest.values()].filter((n) => n !== 1),
      [],
      'no blob downloaded twice',
    );
    const amd = idx.images[0]!;
    const expected = new Set([
      idx.descriptor.digest,
      ...idx.images.map((i) => i.descriptor.digest),
      amd.manifest.config.digest,
      ...amd.manifest.layers.map((l) => l.digest),
      ...single.blobs.keys(),
    ]);
    const onDisk = new Set((await readdir(join(cache, 'blobs', 'sha256'))).map((h) => `sha256:${h}`));
    assert.deepEqual([...onDisk].sort(), [...expected].sort());
    const index = JSON.parse(await readFile(join(cache, 'index.json'), 'utf8')) as {
      manifests: Array<{ annotations: Record<string, string> }>;
    };
    assert.deepEqual(
      index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name']).sort(),
      refs.sort(),
    );
    assert.deepEqual(await readdir(join(cache, '.mobyts', 'tmp')), []);
    assert.deepEqual(
      (await readdir(join(cache, '.mobyts', 'locks'))).filter((f) => !f.includes('.stale-')),
      [],
    );
    assert.deepEqual((await verifyCache((await openStore(cache)).layout)).problems, []);
  });
});
