import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderSbom } from './spdx.ts';

const images = [{ ref: 'docker.io/linuxkit/init:1', digest: 'sha256:' + 'a'.repeat(64) }];
const doc = {
  spdxVersion: 'SPDX-2.3',
  SPDXID: 'SPDXRef-DOCUMENT',
  packages: [{ SPDXID: 'SPDXRef-Package-musl', name: 'musl' }],
  files: [{ SPDXID: 'SPDXRef-File-1', fileName: './lib/ld-musl.so.1' }],
  relationships: [
    { spdxElementId: 'SPDXRef-Package-musl', relationshipType: 'CONTAINS', relatedSpdxElement: 'SPDXRef-File-1' },
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-Package-musl' },
  ],
};

void test('attestation documents are merged with unique ids and prefixed file names', () => {
  const out = JSON.parse(
    renderSbom({
      images,
      created: 1492533000,
      documents: [
        { prefix: 'containers/services/x/lower', doc },
        { prefix: '', doc },
      ],
    }),
  ) as Record<string, unknown>;
  assert.equal(out['spdxVersion'], 'SPDX-2.3');
  assert.deepEqual((out['creationInfo'] as Record<string, unknown>)['created'], '2017-04-18T16:30:00Z');
  assert.deepEqual(
    (out['packages'] as Array<Record<string, unknown>>).map((p) => p['SPDXID']),
    ['SPDXRef-Package-image-0', 'SPDXRef-D0-Package-musl', 'SPDXRef-D1-Package-musl'],
  );
  assert.deepEqual(
    (out['files'] as Array<Record<string, unknown>>).map((f) => f['fileName']),
    ['/containers/services/x/lower/lib/ld-musl.so.1', './lib/ld-musl.so.1'],
  );
  assert.deepEqual((out['relationships'] as unknown[]).length, 3);
});

void test('the namespace is a function of the inputs: same inputs, same bytes; other inputs, other namespace', () => {
  const a = renderSbom({ images, created: 1492533000 });
  assert.equal(a, renderSbom({ images: [...images, ...images], created: 1492533000 }));
  const ns = (s: string): unknown => (JSON.parse(s) as Record<string, unknown>)['documentNamespace'];
  assert.match(
    String(ns(a)),
    /^https:\/\/github\.com\/linuxkit\/linuxkit\/sbom-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
  assert.notEqual(ns(a), ns(renderSbom({ images, created: 1492533001 })));
});
