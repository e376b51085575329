/**
 * The assembly planned from tables of contents equals the assembly planned from the layers. With several init
 * images, which image provides each path, every directory header and the apk databases are planned before any
 * data is read — from each image's table of contents (src/rootfs/toc.ts, init.ts), planned from its layers'
 * tables of contents (src/store/layer-toc.ts: made from each layer once, then taken from the cache as JSON). For seeded generated layer stacks (test/helpers/layer-stacks.ts:
 * whiteouts and opaque markers at every depth, hardlink chains, type changes, long and odd names, PAX and GNU
 * encodings) as three init images, the OS's entry stream — every header field and every body's sha256 — is the
 * same when the plan comes from the layers and when it comes from the stored tables of contents (the images'
 * or only the layers'), and those assemblies read the layers only for their data.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import type { ImageSource } from '../../src/image/source.ts';
import type { Digest } from '../../src/oci/digest.ts';
import { parseReference } from '../../src/oci/reference.ts';
import { rootfsDeps } from '../../src/pipeline/wire.ts';
import { assembleRootfs } from '../../src/rootfs/assemble.ts';
import type { TocStore } from '../../src/rootfs/toc.ts';
import { layerTocKey } from '../../src/store/layer-toc.ts';
import type { MobySpec } from '../../src/spec/types.ts';
import { isMobyError } from '../../src/util/errors.ts';
import { recordingReporter } from '../../src/util/reporter.ts';
import { generateStack, imageOf } from '../helpers/layer-stacks.ts';
import type { BuiltImage } from '../helpers/images.ts';

const SEEDS = (process.env['MOBYTS_TOC_SEEDS'] ?? '1,2,3,4,5,6,7,8,9,10').split(',').map(Number);
let work: string;
const counts = { stacks: 0, entries: 0, layersRead: 0, refused: 0 };

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'mobyts-prop-toc-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
  process.stdout.write(
    `# init tables of contents: ${counts.stacks} generated stacks as init images, ${counts.entries} entries compared, ${counts.refused} combinations refused alike, ${counts.layersRead} layer reads\n`,
  );
});

/** An in-memory TocStore that keeps values as JSON text, as the cache's store does. */
function memoryTocs(): TocStore & {
  size: () => number;
  only: (keys: Set<string>) => void;
  kept: Map<string, string>;
} {
  const kept = new Map<string, string>();
  return {
    get: (key) => Promise.resolve(kept.has(key) ? (JSON.parse(kept.get(key) as string) as unknown) : undefined),
    put: (key, value) => {
      kept.set(key, JSON.stringify(value));
      return Promise.resolve();
    },
    size: () => kept.size,
    only: (keys) => {
      for (const k of kept.keys()) if (!keys.has(k)) kept.delete(k);
    },
    kept,
  };
}

function sourceOf(image: BuiltImage, ref: string, reads: { n: number }): ImageSource {
  const blob = (digest: string): Buffer => {
    const b = image.blobs.get(digest as Digest);
    assert.ok(b !== undefined, digest);
    return b;
  };
  return {
    ref: parseReference(ref),
    manifestDigest: image.descriptor.digest,
    manifest: image.manifest,
    config: image.config,
    openLayer: (layer) => {
      reads.n++;
      return Promise.resolve(Readable.from([blob(layer.digest)]));
    },
    openBlob: (digest) => Promise.resolve(Readable.from([blob(digest)])),
  };
}

/**
 * What a user of the OS can observe of each entry, in stream order; or the one error the build gives (stacks
 * combined as init images may overlap in ways the build refuses, e.g. a hardlink whose target a later image
 * replaces — the plan from tables of contents must refuse them the same way).
 */
async function assembled(spec: MobySpec, sources: ImageSource[], tocs: TocStore, direct = false): Promise<string[]> {
  try {
    return await entriesOf(spec, sources, tocs, direct);
  } catch (err) {
    if (!isMobyError(err)) throw err;
    return [`refused: ${err.message}`];
  }
}

/** With `direct`, planning flattens the layers themselves (the reference), never their tables of contents. */
async function entriesOf(spec: MobySpec, sources: ImageSource[], tocs: TocStore, direct: boolean): Promise<string[]> {
  const reporter = recordingReporter();
  const workDir = await mkdtemp(join(work, 'assemble-'));
  const out: string[] = [];
  const deps = rootfsDeps(spec, new Map(), reporter);
  for await (const e of assembleRootfs({
    spec,
    images: { init: sources, containers: [], volumes: [], ociVolumes: new Map() },
    files: [],
    deps: direct ? { ...deps, flatten: (s) => deps.flatten(s) } : deps,
    mtime: 1492533000,
    workDir,
    decompressKernel: false,
    dockerfile: false,
    reporter,
    tocs,
  })) {
    const hash = createHash('sha256');
    for await (const c of e.body ?? []) hash.update(c as Buffer);
    const { pax, ...h } = e.header;
    out.push(
      JSON.stringify({
        ...h,
        pax: (pax ?? []).map(([k, v]) => [k, v.toString('base64')]),
        body: hash.digest('hex'),
      }),
    );
  }
  return out;
}

for (const seed of SEEDS) {
  void test(`stacks ${seed}: the OS planned from stored tables of contents equals the OS planned from the layers`, async () => {
    const images = [0, 1, 2].map((i) => imageOf(generateStack(seed * 10 + i, 3, 60)));
    const refs = images.map((_, i) => `127.0.0.1:5000/prop/init${i}:${seed}`);
    const spec: MobySpec = { init: refs };
    // the reference: planned by flattening the layers themselves
    const reference = memoryTocs();
    const fromLayers = await assembled(
      spec,
      images.map((img, i) => sourceOf(img, refs[i] as string, { n: 0 })),
      reference,
      true,
    );
    const tocs = memoryTocs();
    const first = { n: 0 };
    const fromNewTocs = await assembled(
      spec,
      images.map((img, i) => sourceOf(img, refs[i] as string, first)),
      tocs,
    );
    assert.deepEqual(fromNewTocs, fromLayers);
    const again = { n: 0 };
    const fromTocs = await assembled(
      spec,
      images.map((img, i) => sourceOf(img, refs[i] as string, again)),
      tocs,
    );
    assert.deepEqual(fromTocs, fromLayers);
    if (fromLayers[0]?.startsWith('refused: ') === true) {
      counts.refused++;
      return;
    }
    // the plans themselves (each image's paths, directory headers, apk databases and symlinks) are the same
    for (const [key, value] of reference.kept) assert.ok(tocs.kept.get(key) === value, `plan ${key} differs`);
    const layerKeys = new Set(images.flatMap((img) => img.manifest.layers.map((l) => layerTocKey(l.digest))));
    assert.ok(tocs.size() >= 3 + layerKeys.size, `${tocs.size()} tables of contents stored`);
    // Flattening reads each layer once, and a layer again for a hardlink whose target an upper layer replaced
    // (image/flatten.ts); the first assembly also read each layer once to make its table of contents.
    const layers = images.reduce((n, img) => n + img.manifest.layers.length, 0);
    assert.ok(again.n >= layers, `${again.n} layer reads for ${layers} layers`);
    assert.equal(first.n, layers + again.n, 'planned from the tables of contents: no layer read for planning');
    // Only the layers' tables of contents kept (as after a pull, which makes them from the bytes on their way
    // in): the plan is made from them, again without reading a layer for it.
    tocs.only(layerKeys);
    const fromLayerTocs = { n: 0 };
    const planned = await assembled(
      spec,
      images.map((img, i) => sourceOf(img, refs[i] as string, fromLayerTocs)),
      tocs,
    );
    assert.deepEqual(planned, fromLayers);
    assert.equal(fromLayerTocs.n, again.n, "planned from the layers' tables of contents: no layer read for planning");
    counts.stacks += 3;
    counts.entries += fromLayers.length;
    counts.layersRead += first.n + again.n + fromLayerTocs.n;
  });
}

void test('most seeds give an OS, not a refusal (the comparison above is not vacuous)', () => {
  assert.ok(counts.stacks / 3 >= SEEDS.length / 2, `${counts.stacks / 3} of ${SEEDS.length} seeds gave an OS`);
});
