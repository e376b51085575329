import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLayoutImage } from '../../src/image/layout-source.ts';
import { writeLayout } from './layout-fixture.ts';

async function layout(t: { after(fn: () => void): void }, ref: string): Promise<{ dir: string; manifest: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'mobyts-layout-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { manifest } = await writeLayout(dir, ref, [[{ name: 'a', data: 'a' }]]);
  return { dir, manifest };
}

void test('finds an image by ref name, expanded reference, or manifest digest, through the index', async (t) => {
  const { dir, manifest } = await layout(t, 'docker.io/library/alpine:3.20');
  for (const sel of ['docker.io/library/alpine:3.20', 'alpine:3.20', manifest]) {
    const img = await openLayoutImage(dir, sel, { os: 'linux', architecture: 'amd64' });
    assert.equal(img.manifestDigest, manifest, sel);
    assert.equal(img.manifest.layers.length, 1);
    assert.equal(img.config.os, 'linux');
  }
  assert.equal(
    (await openLayoutImage(dir, 'alpine:3.20', { os: 'linux', architecture: 'amd64' })).ref.expanded,
    'docker.io/library/alpine:3.20',
  );
});

void test('missing images and platforms are reported with what the layout has', async (t) => {
  const { dir } = await layout(t, 'example.com/x:1');
  await assert.rejects(openLayoutImage(dir, 'example.com/y:1', { os: 'linux', architecture: 'amd64' }), {
    code: 'NOT_FOUND',
    message: `Cannot read OCI layout "${dir}": no image "example.com/y:1" in index.json (have example.com/x:1)`,
  });
  await assert.rejects(openLayoutImage(dir, 'example.com/x:1', { os: 'linux', architecture: 'arm64' }), {
    code: 'PLATFORM',
    message: `Cannot read OCI layout "${dir}": no manifest for linux/arm64 (have linux/amd64)`,
  });
  await assert.rejects(openLayoutImage(join(dir, 'nope'), 'x', { os: 'linux', architecture: 'amd64' }), {
    code: 'NOT_FOUND',
    message: /no index\.json/,
  });
});
