// normaliseSpec / expandSpecImages: every image string expanded as LinuxKit's UpdateImages, nothing else changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeSpecs } from './merge.ts';
import { expandSpecImages, normaliseSpec } from './normalise.ts';
import type { MobySpec } from './types.ts';

const spec: MobySpec = {
  kernel: { image: 'linuxkit/kernel:6.6.71', cmdline: 'console=ttyS0' },
  init: ['linuxkit/init:v1', 'localhost:5000/runc:v1'],
  onboot: [{ name: 'a', image: 'alpine:3.20', capabilities: ['all'] }],
  onshutdown: [{ name: 'b', image: 'quay.io/x/y:1' }],
  services: [{ name: 'c', image: '@pkg:./c' }],
  volumes: [{ name: 'v', image: 'busybox' }, { name: 'empty' }],
  files: [{ path: '/etc/motd', contents: 'hi' }],
};

void test('expands every image reference and leaves the rest as written', () => {
  const before = structuredClone(spec);
  const out = expandSpecImages(spec);
  assert.deepEqual(spec, before, 'input not modified');
  assert.deepEqual(out, {
    kernel: { image: 'docker.io/linuxkit/kernel:6.6.71', cmdline: 'console=ttyS0' },
    init: ['docker.io/linuxkit/init:v1', 'localhost:5000/runc:v1'],
    onboot: [{ name: 'a', image: 'docker.io/library/alpine:3.20', capabilities: ['all'] }],
    onshutdown: [{ name: 'b', image: 'quay.io/x/y:1' }],
    services: [{ name: 'c', image: '@pkg:./c' }],
    volumes: [{ name: 'v', image: 'docker.io/library/busybox' }, { name: 'empty' }],
    files: [{ path: '/etc/motd', contents: 'hi' }],
  });
  assert.deepEqual(normaliseSpec(spec), out);
});

void test('merge: tar and ucode replace when set, even to ""; empty image/cmdline/binary do not', () => {
  const merged = mergeSpecs([
    {
      kernel: { image: 'k:1', cmdline: 'a', binary: 'bzImage', tar: 'kernel.tar', ucode: 'intel-ucode.cpio' },
      outputs: [{ format: 'tar' }],
      trust: { org: ['linuxkit'] },
    },
    {
      kernel: { image: '', cmdline: '', binary: '', tar: '' },
      outputs: [{ format: 'tar' }, { format: 'iso-bios' }],
      trust: { image: ['x'] },
    },
  ]);
  assert.deepEqual(merged, {
    kernel: { image: 'k:1', cmdline: 'a', binary: 'bzImage', tar: '', ucode: 'intel-ucode.cpio' },
    outputs: [{ format: 'tar' }, { format: 'iso-bios' }],
    trust: { org: ['linuxkit'], image: ['x'] },
  });
  assert.deepEqual(mergeSpecs([]), {});
});
