import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Digest } from '../oci/digest.ts';
import type { Descriptor } from '../oci/types.ts';
import { platformFor, selectManifest } from './platform.ts';

const d = (architecture: string, variant?: string, os = 'linux'): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${architecture
    .padEnd(64, '0')
    .slice(0, 64)
    .replace(/[^a-f0-9]/g, 'a')}` as Digest,
  size: 1,
  platform: { os, architecture, ...(variant === undefined ? {} : { variant }) },
});

void test('--arch names and aliases', () => {
  assert.deepEqual(platformFor('amd64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(platformFor('x86_64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(platformFor('aarch64'), { os: 'linux', architecture: 'arm64' });
  assert.deepEqual(platformFor('linux/arm/v7'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.deepEqual(platformFor('riscv64'), { os: 'linux', architecture: 'riscv64' });
  assert.throws(() => platformFor(''), { code: 'USAGE' });
});

void test('arm64 matches arm64/v8 and plain arm64; exact variant preferred; attestations skipped', () => {
  const att: Descriptor = {
    ...d('unknown', undefined, 'unknown'),
    annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
  };
  const list = [att, d('amd64'), d('arm', 'v7'), d('arm64', 'v8')];
  assert.equal(selectManifest(list, platformFor('arm64'), 'Cannot pull "x"'), list[3]);
  assert.equal(selectManifest([d('arm', 'v6'), d('arm', 'v7')], platformFor('arm/v7'), 's').platform?.variant, 'v7');
  assert.equal(selectManifest([d('s390x')], platformFor('s390x'), 's').platform?.architecture, 's390x');
});

void test('the error lists the platforms the index has (not attestations)', () => {
  const att: Descriptor = { ...d('unknown', undefined, 'unknown') };
  assert.throws(
    () =>
      selectManifest([d('amd64'), d('386'), att], platformFor('arm64'), 'Cannot pull "docker.io/library/alpine:3.20"'),
    {
      code: 'PLATFORM',
      message:
        'Cannot pull "docker.io/library/alpine:3.20" for linux/arm64: no manifest for that platform (have linux/amd64, linux/386)',
    },
  );
});
