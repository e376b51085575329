/**
 * Layer tables of contents (src/store/layer-toc.ts, docs/formats.md#tables-of-contents): every entry's header
 * and where its first block and its data sit in the uncompressed stream, made when the layer enters the cache
 * — pulled (from the bytes on their way to disk, against the real registry), imported, or built — and never
 * for a layer that failed its digest or is not a tar.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { digestOf } from '../../src/oci/digest.ts';
import { parseReference } from '../../src/oci/reference.ts';
import { openImageTocs, tocDir } from '../../src/store/image-tocs.ts';
import { openStore, platformFor } from '../../src/store/index.ts';
import {
  isLayerToc,
  layerTocKey,
  layerTocTee,
  makeLayerToc,
  rowHeader,
  tocEntries,
  type LayerToc,
} from '../../src/store/layer-toc.ts';
import { exportArchive, importArchive } from '../../src/store/archive.ts';
import { removeImages } from '../../src/store/maintenance.ts';
import { readTar } from '../../src/tar/read.ts';
import { buildImage, pushImage, type BuiltImage } from '../helpers/images.ts';
import { generateStack, imageOf } from '../helpers/layer-stacks.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

let reg: TestRegistry;
let root: string;
let n = 0;

before(async () => {
  reg = await startRegistry();
  root = await mkdtemp(join(tmpdir(), 'mobyts-layer-toc-'));
});
after(async () => {
  await reg.stop();
  await rm(root, { recursive: true, force: true });
});

async function headersOf(tar: Buffer): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const e of readTar(Readable.from([tar]))) {
    out.push(e.header);
    e.body?.resume();
  }
  return out;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

void test('a TOC records every header as the tar has it, and offsets that point at each header and body', async () => {
  for (const seed of [1, 2, 3]) {
    const image = imageOf(generateStack(seed, 3, 60));
    for (const layer of image.layers) {
      const gz = image.blobs.get(layer.descriptor.digest) as Buffer;
      const toc = await makeLayerToc(Readable.from([gz]), 'layer');
      assert.deepEqual(
        toc.rows.map((r) => rowHeader(r)),
        await headersOf(layer.tar),
        `seed ${seed}`,
      );
      const tar = gunzipSync(gz);
      let end = 0;
      for (const row of toc.rows) {
        const [, , , , , size, , first, data] = row;
        assert.ok(first >= end && first % 512 === 0 && data >= first + 512, `${row[0]}: ${first} ${data}`);
        // the block before the data is the entry's own ustar header (a PAX or GNU block may come first)
        assert.equal(tar.subarray(data - 512 + 257, data - 512 + 262).toString('latin1'), 'ustar');
        end = data + Math.ceil((row[1] === '0' ? size : 0) / 512) * 512;
      }
      // bodies are where the TOC says: the entries re-read from the tar at those offsets have the same bytes
      const bodies: string[] = [];
      for await (const e of readTar(Readable.from([tar]))) {
        const chunks: Buffer[] = [];
        for await (const c of e.body ?? []) chunks.push(c as Buffer);
        bodies.push(sha(Buffer.concat(chunks)));
      }
      toc.rows.forEach((row, i) => {
        if (row[1] === '0') assert.equal(sha(tar.subarray(row[8], row[8] + row[5])), bodies[i], row[0]);
      });
    }
  }
});

void test('whiteouts and opaque markers are marked; the apk database is kept, other bodies are not', async () => {
  const db = 'P:musl\nV:1.2.5\n\n';
  const image = await buildImage({
    layers: [
      {
        entries: [
          { type: 'dir', path: 'lib/apk/db' },
          { type: 'file', path: 'lib/apk/db/installed', content: db },
          { type: 'file', path: 'etc/motd', content: 'hello' },
          { type: 'whiteout', path: 'etc/gone' },
          { type: 'opaque', path: 'var' },
        ],
      },
    ],
  });
  const toc = await makeLayerToc(Readable.from([image.blobs.get(image.layers[0]!.descriptor.digest)!]), 'layer');
  const marks = Object.fromEntries(toc.rows.map((r) => [r[0], r[9]?.mark]));
  assert.equal(marks['etc/.wh.gone'], 'whiteout');
  assert.equal(marks['var/.wh..wh..opq'], 'opaque');
  assert.equal(marks['etc/motd'], undefined);
  const bodies: Record<string, string> = {};
  for await (const e of tocEntries(toc)) {
    if (e.body === undefined) continue;
    const chunks: Buffer[] = [];
    for await (const c of e.body) chunks.push(c as Buffer);
    bodies[e.header.name] = Buffer.concat(chunks).toString();
  }
  assert.deepEqual(bodies, { 'lib/apk/db/installed': db });
});

void test('the tee hands every byte on unchanged; a stream that is not a tar, or stops early, gives no TOC', async () => {
  const image = imageOf(generateStack(7, 3, 60));
  const gz = image.blobs.get(image.layers[1]!.descriptor.digest) as Buffer;
  const pieces = Array.from({ length: Math.ceil(gz.length / 777) }, (_, i) => gz.subarray(i * 777, (i + 1) * 777));
  const tee = layerTocTee('layer');
  const passed: Buffer[] = [];
  for await (const c of tee.pass(Readable.from(pieces))) passed.push(c as Buffer);
  assert.ok(Buffer.concat(passed).equals(gz));
  assert.deepEqual(await tee.toc(), await makeLayerToc(Readable.from([gz]), 'layer'));

  const garbage = Buffer.alloc(300_000, 7);
  const bad = layerTocTee('layer');
  const out: Buffer[] = [];
  for await (const c of bad.pass(Readable.from([garbage.subarray(0, 1000), garbage.subarray(1000)])))
    out.push(c as Buffer);
  assert.ok(Buffer.concat(out).equals(garbage), 'the bytes pass even when they are no tar');
  assert.equal(await bad.toc(), undefined);

  const stopped = layerTocTee('layer');
  for await (const c of stopped.pass(Readable.from(pieces))) {
    assert.ok(c);
    break;
  }
  assert.equal(await stopped.toc(), undefined);
  const never = layerTocTee('layer');
  never.pass(Readable.from(pieces)).destroy();
  assert.equal(await never.toc(), undefined);
});

async function storedToc(cache: string, digest: string): Promise<LayerToc | undefined> {
  const tocs = await openImageTocs(cache);
  const value = await tocs?.get(layerTocKey(digest));
  return isLayerToc(value) ? value : undefined;
}

async function pushed(image: BuiltImage): Promise<string> {
  const name = `layer-toc/img${n++}:1`;
  await pushImage(reg.host, name, image);
  return `${reg.host}/${name}`;
}

void test('a pull makes each layer TOC from the bytes it stores (gzip, zstd, plain), cache rm removes them; no TOC for a non-tar layer', async () => {
  const image = await buildImage({
    layers: (['gzip', 'zstd', 'none'] as const).map((compression, i) => ({
      compression,
      entries: [
        { type: 'dir', path: `d${i}` },
        { type: 'file', path: `d${i}/f`, content: `layer ${i}` },
      ],
    })),
  });
  const cache = await mkdtemp(join(root, 'cache-'));
  const store = await openStore(cache);
  const ref = parseReference(await pushed(image));
  try {
    await store.getImage(ref, reg.pullOptions(platformFor('amd64')));
  } finally {
    await store.close();
  }
  for (const layer of image.layers) {
    const toc = await storedToc(cache, layer.descriptor.digest);
    assert.ok(toc !== undefined, `${layer.descriptor.mediaType}: a TOC`);
    assert.deepEqual(
      toc,
      JSON.parse(
        JSON.stringify(await makeLayerToc(Readable.from([image.blobs.get(layer.descriptor.digest)!]), 'layer')),
      ),
    );
  }
  // removing the image removes its layers' TOCs with the layers
  const again = await openStore(cache);
  await removeImages(again.layout, [ref.expanded]);
  await again.close();
  for (const layer of image.layers) assert.equal(await storedToc(cache, layer.descriptor.digest), undefined);
  // a "layer" that is not a tar (some artifacts put anything there) is stored, and gets no TOC
  const odd = await buildImage({ layers: [{ entries: [{ type: 'file', path: 'x', content: 'x' }] }] });
  const junk = Buffer.from('not a tar, not gzip either');
  const junkDigest = digestOf(junk);
  const desc = { ...odd.manifest.layers[0]!, digest: junkDigest, size: junk.length };
  odd.blobs.delete(odd.manifest.layers[0]!.digest);
  odd.blobs.set(junkDigest, junk);
  odd.manifest.layers = [desc];
  const manifestBytes = Buffer.from(JSON.stringify(odd.manifest));
  odd.blobs.delete(odd.descriptor.digest);
  odd.descriptor = { ...odd.descriptor, digest: digestOf(manifestBytes), size: manifestBytes.length };
  odd.manifestBytes = manifestBytes;
  odd.blobs.set(odd.descriptor.digest, manifestBytes);
  const cache2 = await mkdtemp(join(root, 'cache-'));
  const store2 = await openStore(cache2);
  try {
    await store2.getImage(parseReference(await pushed(odd)), reg.pullOptions(platformFor('amd64')));
    assert.ok(await store2.hasBlob(junkDigest));
  } finally {
    await store2.close();
  }
  assert.equal(await storedToc(cache2, junkDigest), undefined);
  assert.deepEqual(
    (await readdir(tocDir(cache2))).filter((f) => f.startsWith('.tmp')),
    [],
    'no temp file left',
  );
});

void test('an imported image gets its layers’ TOCs, as a pulled one does', async () => {
  const image = imageOf(generateStack(11, 3, 40));
  const from = await mkdtemp(join(root, 'cache-'));
  const store = await openStore(from);
  try {
    await store.getImage(parseReference(await pushed(image)), reg.pullOptions(platformFor('amd64')));
  } finally {
    await store.close();
  }
  const chunks: Buffer[] = [];
  const out = new PassThrough();
  out.on('data', (c: Buffer) => chunks.push(c));
  const source = await openStore(from);
  await exportArchive(source.layout, (await source.layout.readIndex()).manifests, out);
  out.end();
  await source.close();
  const to = await mkdtemp(join(root, 'cache-'));
  const target = await openStore(to);
  await importArchive(target.layout, Readable.from([Buffer.concat(chunks)]));
  await target.close();
  for (const layer of image.layers) {
    assert.deepEqual(await storedToc(to, layer.descriptor.digest), await storedToc(from, layer.descriptor.digest));
    assert.ok((await storedToc(to, layer.descriptor.digest)) !== undefined);
  }
});
