/** A package image's config, manifest and index: exact JSON, Dockerfile-like inheritance, digests that follow the bytes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digestOf, type Digest } from '../oci/digest.ts';
import { containerConfig, imageBlobs, indexBlob, type ImageInputs } from './image.ts';

const d = (c: string): Digest => `sha256:${c.repeat(64)}` as Digest;

const inputs = (over: Partial<ImageInputs> = {}): ImageInputs => ({
  platform: { os: 'linux', architecture: 'amd64' },
  layer: { digest: d('a'), size: 100, diffId: d('b') },
  imageConfig: { Entrypoint: ['/bin/hello'] },
  created: 1492533000,
  ...over,
});

void test('config, manifest and index (one per package over its platforms) are the exact OCI JSON, and each descriptor digests the bytes it points at', () => {
  const b = imageBlobs(inputs({ mobyConfig: { capabilities: ['CAP_SYS_ADMIN'] } }));
  assert.equal(
    b.config.toString(),
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2017-04-18T16:30:00Z',
      config: {
        Entrypoint: ['/bin/hello'],
        Labels: { 'org.mobyproject.config': '{"capabilities":["CAP_SYS_ADMIN"]}' },
      },
      rootfs: { type: 'layers', diff_ids: [d('b')] },
    }),
  );
  assert.deepEqual(JSON.parse(b.manifest.toString()), {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: digestOf(b.config),
      size: b.config.length,
    },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('a'), size: 100 }],
  });
  assert.deepEqual(b.manifestDescriptor, {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: digestOf(b.manifest),
    size: b.manifest.length,
    platform: { os: 'linux', architecture: 'amd64' },
  });
  const arm = imageBlobs(inputs({ platform: { os: 'linux', architecture: 'arm64' } })).manifestDescriptor;
  assert.equal(
    indexBlob([b.manifestDescriptor, arm]).toString(),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [b.manifestDescriptor, arm],
    }),
  );
  assert.deepEqual(
    imageBlobs(inputs({ mobyConfig: { capabilities: ['CAP_SYS_ADMIN'] } })),
    b,
    'same inputs, same bytes',
  );
  assert.notEqual(
    imageBlobs(inputs({ created: 1492533001 })).manifestDescriptor.digest,
    imageBlobs(inputs()).manifestDescriptor.digest,
  );
});

void test('a base image: its layers and diff_ids come first, its settings are inherited unless overridden', () => {
  const base = {
    config: {
      architecture: 'amd64',
      os: 'linux',
      config: {
        Env: ['PATH=/bin'],
        Entrypoint: ['/sbin/init'],
        Cmd: ['-v'],
        WorkingDir: '/root',
        Labels: { z: '1', a: '2' },
      },
      rootfs: { type: 'layers' as const, diff_ids: [d('c')] },
    },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('e'), size: 5 }],
  };
  const b = imageBlobs(inputs({ base, imageConfig: { Labels: { m: '3' } } }));
  const config = JSON.parse(b.config.toString()) as { config: unknown; rootfs: { diff_ids: string[] } };
  assert.deepEqual(config.config, {
    Env: ['PATH=/bin'],
    Entrypoint: ['/sbin/init'],
    Cmd: ['-v'],
    WorkingDir: '/root',
    Labels: { a: '2', m: '3', z: '1' },
  });
  assert.deepEqual(config.rootfs.diff_ids, [d('c'), d('b')]);
  assert.deepEqual(
    b.layers.map((l) => l.digest),
    [d('e'), d('a')],
  );
});

void test('a new Entrypoint drops the inherited Cmd, as in a Dockerfile; an empty WorkingDir is left out', () => {
  const base = { Entrypoint: ['/a'], Cmd: ['x'], WorkingDir: '/w' };
  assert.deepEqual(containerConfig(base, { Entrypoint: ['/b'] }), { Entrypoint: ['/b'], WorkingDir: '/w' });
  assert.deepEqual(containerConfig(base, { Cmd: ['y'] }), { Entrypoint: ['/a'], Cmd: ['y'], WorkingDir: '/w' });
  assert.deepEqual(containerConfig(undefined, { WorkingDir: '' }), {});
});
