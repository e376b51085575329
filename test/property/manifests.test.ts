/**
 * Generated manifests, indexes and image configurations (fast-check): valid documents with one or more fields
 * replaced by arbitrary JSON or removed, and arbitrary JSON documents. Each is accepted or refused with a
 * MobyError naming the field (`layers[2].digest`, `config.Env[0]`, …); never another exception. What is
 * accepted is usable: its descriptors are well formed, a platform can be chosen from an index, and an
 * accepted configuration turns into a runtime bundle (config.json) or a clear IMAGE_CONFIG error. A sample
 * also goes through the real registry and the pull (store.getImage), served by the fault proxy.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { digestOf, isDigest } from '../../src/oci/digest.ts';
import { parseReference } from '../../src/oci/reference.ts';
import { MediaType } from '../../src/oci/types.ts';
import { bundleFiles } from '../../src/runtime/bundle.ts';
import { openStore, platformFor, selectManifest } from '../../src/store/index.ts';
import { parseConfig, parseManifest } from '../../src/store/manifest.ts';
import { isMobyError } from '../../src/util/errors.ts';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const RUNS = 3000;
const PULLS = 60;
const counts = { manifests: 0, configs: 0, refused: 0, pulled: 0 };

const d = (s: string): Record<string, unknown> => ({
  mediaType: MediaType.OCI_LAYER,
  digest: digestOf(s),
  size: s.length,
});
const VALID_MANIFEST = {
  schemaVersion: 2,
  mediaType: MediaType.OCI_MANIFEST,
  config: { ...d('c'), mediaType: MediaType.OCI_CONFIG },
  layers: [d('l1'), d('l2')],
  annotations: { a: 'b' },
};
const VALID_INDEX = {
  schemaVersion: 2,
  mediaType: MediaType.OCI_INDEX,
  manifests: [
    { ...d('m1'), mediaType: MediaType.OCI_MANIFEST, platform: { architecture: 'amd64', os: 'linux' } },
    { ...d('m2'), mediaType: MediaType.OCI_MANIFEST, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
  ],
};
const VALID_CONFIG = {
  architecture: 'amd64',
  os: 'linux',
  created: '2024-01-01T00:00:00Z',
  config: {
    User: '0',
    Env: ['PATH=/bin'],
    Entrypoint: ['/bin/sh'],
    Cmd: ['-c', 'true'],
    WorkingDir: '/',
    Labels: { 'org.mobyproject.config': '{"capabilities":["CAP_NET_ADMIN"]}' },
    ExposedPorts: {},
    Volumes: {},
  },
  rootfs: { type: 'layers', diff_ids: [digestOf('t1'), digestOf('t2')] },
  history: [],
};

/** Every path to a value in `v` (object keys, array indexes). */
function paths(v: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

function edited(doc: unknown, edits: Array<{ pick: number; value: unknown; remove: boolean }>): unknown {
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let root: unknown = copy;
  for (const e of edits) {
    const all = paths(root);
    const p = all[e.pick % all.length] ?? [];
    if (p.length === 0) {
      root = structuredClone(e.value);
      continue;
    }
    let parent = root as Record<string | number, unknown>;
    for (const k of p.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
    const last = p[p.length - 1] as string | number;
    if (e.remove && Array.isArray(parent)) parent.splice(Number(last), 1);
    else if (e.remove) delete parent[last];
    else parent[last] = structuredClone(e.value); // never the same object twice (no cycles)
  }
  return root;
}

const wild: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    null,
    -1,
    1.5,
    2 ** 60,
    '',
    'sha256:abc',
    digestOf('x'),
    [],
    {},
    [1],
    ['a', 2],
    { architecture: 5 },
    MediaType.OCI_INDEX,
    MediaType.DOCKER_MANIFEST,
    1,
  ),
);
const edits = fc.array(fc.record({ pick: fc.nat(), value: wild, remove: fc.boolean() }), {
  minLength: 1,
  maxLength: 3,
});
const docOf = (base: unknown): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 4, arbitrary: edits.map((e) => edited(base, e)) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  );

const FIELD =
  /: (manifests|layers|config|subject|annotations|mediaType|schemaVersion)\b[[.\w"\]]*|: the (manifest|index) (is not|has no)|unsupported manifest media type|schema 1|the image configuration('s (architecture|os|variant|created|config|rootfs|history)\b| is not)/;

function refusedWithField(err: unknown): void {
  assert.ok(isMobyError(err), `a MobyError, not ${String((err as Error).stack)}`);
  assert.match(err.message, FIELD);
  counts.refused++;
}

void test(`${RUNS} generated manifests and indexes: accepted and usable, or refused naming the field`, () => {
  fc.assert(
    fc.property(fc.oneof(docOf(VALID_MANIFEST), docOf(VALID_INDEX)), (doc) => {
      counts.manifests++;
      let parsed;
      try {
        parsed = parseManifest(Buffer.from(JSON.stringify(doc) ?? 'null'), MediaType.OCI_MANIFEST, 'Cannot pull "x"');
      } catch (err) {
        return refusedWithField(err);
      }
      const descs =
        parsed.kind === 'index' ? parsed.index.manifests : [parsed.manifest.config, ...parsed.manifest.layers];
      for (const x of descs)
        assert.ok(typeof x.mediaType === 'string' && isDigest(x.digest) && Number.isSafeInteger(x.size) && x.size >= 0);
      if (parsed.kind === 'index') {
        try {
          selectManifest(parsed.index.manifests, platformFor('amd64'), 'Cannot pull "x"');
        } catch (err) {
          assert.ok(isMobyError(err), String(err));
        }
      }
    }),
    { numRuns: RUNS },
  );
});

void test(`${RUNS} generated image configurations: accepted and turned into a bundle (or a clear error), or refused naming the field`, () => {
  fc.assert(
    fc.property(docOf(VALID_CONFIG), (doc) => {
      counts.configs++;
      let config;
      try {
        config = parseConfig(Buffer.from(JSON.stringify(doc) ?? 'null'), 'Cannot pull "x"');
      } catch (err) {
        return refusedWithField(err);
      }
      try {
        const b = bundleFiles(
          { name: 'svc', image: 'x/y:1' },
          { config: config.config ?? {} },
          { idMap: new Map(), section: 'services', index: 0 },
        );
        assert.ok(b.configJson.length > 0);
      } catch (err) {
        assert.ok(isMobyError(err), `building the bundle fails clearly: ${String((err as Error).stack)}`);
      }
    }),
    { numRuns: RUNS },
  );
});

let reg: TestRegistry;
let proxy: FaultProxy;
let work: string;

before(async () => {
  reg = await startRegistry();
  proxy = await startFaultProxy(reg.url);
  work = await mkdtemp(join(tmpdir(), 'mobyts-prop-manifests-'));
});
after(async () => {
  await proxy.stop();
  await reg.stop();
  await rm(work, { recursive: true, force: true });
  process.stdout.write(
    `# generated documents: ${counts.manifests} manifests/indexes, ${counts.configs} configs parsed, ${counts.pulled} pulled through the registry client, ${counts.refused} refused\n`,
  );
});

void test(`${PULLS} generated manifests served by a registry: the pull refuses them naming the field, or fails clearly`, async () => {
  const docs = fc.sample(docOf(VALID_MANIFEST), { numRuns: PULLS, seed: 17 });
  const store = await openStore(join(work, 'cache'), { client: { retry: { tries: 1 } } });
  try {
    for (const [i, doc] of docs.entries()) {
      const bytes = Buffer.from(JSON.stringify(doc) ?? 'null');
      const headers = { 'content-type': MediaType.OCI_MANIFEST, 'docker-content-digest': digestOf(bytes) };
      proxy.clear();
      proxy.add({
        match: new RegExp(`^/v2/gen/m${i}/manifests/`),
        kind: 'respond',
        times: Infinity,
        respond: { headers, body: () => bytes },
      });
      counts.pulled++;
      try {
        await store.getImage(parseReference(`${proxy.host}/gen/m${i}:1`), reg.pullOptions(platformFor('amd64')));
        assert.fail('a generated manifest names blobs the registry does not have');
      } catch (err) {
        assert.ok(isMobyError(err), `a MobyError: ${String((err as Error).stack)}`);
        assert.match(err.message, new RegExp(`^Cannot pull "127\\.0\\.0\\.1:\\d+/gen/m${i}:1"`));
      }
    }
  } finally {
    await store.close();
  }
});
