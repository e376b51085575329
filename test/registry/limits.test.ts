/**
 * Bounds on what a registry can make us read. A hostile registry (the fault proxy answering with crafted
 * documents in front of the real one) serves manifests, indexes and configurations over 4 MiB (announced by
 * HEAD, by a descriptor, by Content-Length, or an endless chunked stream that must be cut off while it
 * streams), too many layers or index entries, and nested indexes. Each pull is refused with the numbers and
 * nothing is named in the cache.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { digestOf, type Digest } from '../../src/oci/digest.ts';
import { parseReference } from '../../src/oci/reference.ts';
import { MediaType, type Descriptor } from '../../src/oci/types.ts';
import { openStore, platformFor } from '../../src/store/index.ts';
import { isMobyError } from '../../src/util/errors.ts';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

let reg: TestRegistry;
let proxy: FaultProxy;
let work: string;
let faults = 0;
const MiB = 1024 * 1024;

before(async () => {
  reg = await startRegistry();
  proxy = await startFaultProxy(reg.url);
  work = await mkdtemp(join(tmpdir(), 'mobyts-limits-'));
});
after(async () => {
  await proxy.stop();
  await reg.stop();
  await rm(work, { recursive: true, force: true });
  process.stdout.write(`# registry limits: ${faults} hostile documents served\n`);
});

interface Doc {
  bytes: Buffer;
  descriptor: Descriptor;
}

function doc(value: unknown, mediaType: string = MediaType.OCI_MANIFEST): Doc {
  const bytes = Buffer.from(JSON.stringify(value));
  return { bytes, descriptor: { mediaType, digest: digestOf(bytes), size: bytes.length } };
}

const CONFIG = doc(
  { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
  MediaType.OCI_CONFIG,
);

function manifest(extra: Record<string, unknown> = {}): Doc {
  return doc({ schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, config: CONFIG.descriptor, layers: [], ...extra });
}

function index(manifests: Descriptor[]): Doc {
  return doc({ schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests }, MediaType.OCI_INDEX);
}

/** Serves `d` for `repo` under `selector` (tag, and always its digest), HEAD and GET, as often as asked. */
function serve(repo: string, d: Doc, selector?: string): void {
  const headers = { 'content-type': d.descriptor.mediaType, 'docker-content-digest': d.descriptor.digest };
  for (const s of [d.descriptor.digest, ...(selector === undefined ? [] : [selector])]) {
    proxy.add({
      match: new RegExp(`^/v2/${repo}/manifests/${s}$`),
      kind: 'respond',
      times: Infinity,
      respond: { headers, body: () => d.bytes },
    });
  }
  faults++;
}

function serveBlob(repo: string, digest: Digest, body: () => Buffer | AsyncIterable<Buffer>): void {
  proxy.add({
    match: new RegExp(`^/v2/${repo}/blobs/${digest}$`),
    kind: 'respond',
    times: Infinity,
    respond: { headers: { 'content-type': 'application/octet-stream' }, body },
  });
  faults++;
}

/** An endless body: the client must stop reading it. Capped far above any limit so a failing test ends. */
async function* endless(prefix: string): AsyncGenerator<Buffer> {
  yield Buffer.from(prefix);
  const chunk = Buffer.alloc(64 * 1024, 'x');
  for (let sent = 0; sent < 512 * MiB; sent += chunk.length) {
    yield chunk;
    if (sent % (4 * MiB) === 0) await setImmediate(); // let the client's close arrive
  }
}

async function pull(repoTag: string): Promise<unknown> {
  const cache = await mkdtemp(join(work, 'cache-'));
  const store = await openStore(cache, { client: { retry: { tries: 1 } } });
  try {
    await store.getImage(parseReference(`${proxy.host}/${repoTag}`), reg.pullOptions(platformFor('amd64')));
  } catch (err) {
    assert.deepEqual((await store.layout.readIndex()).manifests, [], 'nothing is named in the cache');
    return err;
  } finally {
    await store.close();
  }
  assert.fail(`pulling ${repoTag} should have been refused`);
}

async function refused(repoTag: string, message: RegExp): Promise<void> {
  const err = await pull(repoTag);
  assert.ok(isMobyError(err), `a user-facing error, not a crash: ${String(err)}`);
  assert.match(err.message, message);
}

const SUBJECT = (r: string): string => `^Cannot pull "127\\.0\\.0\\.1:\\d+/${r}": `;

void test('a manifest HEAD announces as over 4 MiB is refused before it is downloaded', async () => {
  const big = manifest({ annotations: { pad: 'x'.repeat(5 * MiB) } });
  serve('lim/head', big, 'big');
  const before = proxy.sent;
  await refused(
    'lim/head:big',
    new RegExp(
      `${SUBJECT('lim/head:big')}manifest big is ${big.bytes.length} bytes, more than the 4 MiB \\(4194304 bytes\\) limit for manifests and indexes$`,
    ),
  );
  assert.equal(proxy.sent, before, 'no body byte was sent');
});

void test('a manifest whose Content-Length is over 4 MiB is refused without reading its body', async () => {
  const big = manifest({ annotations: { pad: 'y'.repeat(5 * MiB) } });
  proxy.add({
    match: /^\/v2\/lim\/len\/manifests\/big$/,
    method: 'HEAD',
    kind: 'status',
    status: 405,
    times: Infinity,
  });
  serve('lim/len', big, 'big');
  await refused(
    'lim/len:big',
    new RegExp(
      `${SUBJECT('lim/len:big')}manifest big is ${big.bytes.length} bytes \\(Content-Length\\), more than the 4 MiB`,
    ),
  );
});

void test('an endless manifest without a length is cut off while streaming, soon after 4 MiB', async () => {
  proxy.add({
    match: /^\/v2\/lim\/endless\/manifests\/x$/,
    method: 'HEAD',
    kind: 'status',
    status: 405,
    times: Infinity,
  });
  proxy.add({
    match: /^\/v2\/lim\/endless\/manifests\/x$/,
    kind: 'respond',
    times: Infinity,
    respond: {
      headers: { 'content-type': MediaType.OCI_MANIFEST },
      body: () => endless('{"schemaVersion":2,"annotations":{"a":"'),
    },
  });
  faults++;
  const before = proxy.sent;
  await refused(
    'lim/endless:x',
    new RegExp(
      `${SUBJECT('lim/endless:x')}manifest x was still being sent, more than the 4 MiB \\(4194304 bytes\\) limit`,
    ),
  );
  assert.ok(proxy.sent - before < 64 * MiB, `the client stopped reading (${proxy.sent - before} bytes sent)`);
});

void test('an index naming a child manifest over 4 MiB is refused with the entry named', async () => {
  const child = { ...manifest().descriptor, size: 5 * MiB, platform: { architecture: 'amd64', os: 'linux' } };
  serve('lim/child', index([child]), '1');
  await refused(
    'lim/child:1',
    new RegExp(
      `${SUBJECT('lim/child:1')}manifests\\[0\\]\\.size is ${5 * MiB} bytes, more than the 4 MiB \\(4194304 bytes\\) limit$`,
    ),
  );
});

void test('a configuration over 4 MiB by its descriptor is refused before it is downloaded', async () => {
  serve('lim/cfg', manifest({ config: { ...CONFIG.descriptor, size: 6 * MiB } }), '1');
  await refused(
    'lim/cfg:1',
    new RegExp(`${SUBJECT('lim/cfg:1')}config\\.size is ${6 * MiB} bytes, more than the 4 MiB`),
  );
});

void test('a configuration streamed past its descriptor size is cut off while streaming', async () => {
  const liar = doc({ architecture: 'amd64', os: 'linux' }, MediaType.OCI_CONFIG);
  serve('lim/cfgstream', manifest({ config: liar.descriptor }), '1');
  serveBlob('lim/cfgstream', liar.descriptor.digest, () => endless('{"architecture":"'));
  const before = proxy.sent;
  await refused(
    'lim/cfgstream:1',
    new RegExp(
      `${SUBJECT('lim/cfgstream:1')}blob ${liar.descriptor.digest} is larger than its descriptor says \\(more than ${liar.descriptor.size} bytes\\)$`,
    ),
  );
  assert.ok(proxy.sent - before < 64 * MiB, `the client stopped reading (${proxy.sent - before} bytes sent)`);
});

void test('a manifest with more layers than the bound is refused with the count', async () => {
  const layer = { mediaType: MediaType.OCI_LAYER, digest: digestOf('layer'), size: 5 };
  serve('lim/layers', manifest({ layers: Array.from({ length: 300 }, () => layer) }), '1');
  await refused(
    'lim/layers:1',
    new RegExp(`${SUBJECT('lim/layers:1')}layers has 300 entries, more than the 256 mobyts accepts$`),
  );
});

void test('an index with more entries than the bound is refused with the count', async () => {
  const entry = { ...manifest().descriptor, platform: { architecture: 'amd64', os: 'linux' } };
  serve('lim/wide', index(Array.from({ length: 2000 }, () => entry)), '1');
  await refused(
    'lim/wide:1',
    new RegExp(`${SUBJECT('lim/wide:1')}manifests has 2000 entries, more than the 1024 mobyts accepts$`),
  );
});

void test('an index whose platform entry is another index is refused with the depth', async () => {
  const inner = index([{ ...manifest().descriptor, platform: { architecture: 'amd64', os: 'linux' } }]);
  serve('lim/nested', inner);
  serve('lim/nested', index([{ ...inner.descriptor, platform: { architecture: 'amd64', os: 'linux' } }]), '1');
  await refused(
    'lim/nested:1',
    new RegExp(
      `${SUBJECT('lim/nested:1')}manifests\\[0\\], the entry for the platform, is itself an index: indexes nested 2 deep, mobyts reads at most 1 level$`,
    ),
  );
});

void test('a configuration listing more diff_ids than the layer bound is refused with the count', async () => {
  const cfg = doc(
    {
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: Array.from({ length: 300 }, () => digestOf('x')) },
    },
    MediaType.OCI_CONFIG,
  );
  serve('lim/diffids', manifest({ config: cfg.descriptor }), '1');
  serveBlob('lim/diffids', cfg.descriptor.digest, () => cfg.bytes);
  await refused(
    'lim/diffids:1',
    new RegExp(
      `${SUBJECT('lim/diffids:1')}the image configuration's rootfs\\.diff_ids has 300 entries, more than the 256 mobyts accepts$`,
    ),
  );
});
