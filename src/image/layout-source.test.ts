/**
 * An OCI layout directory as an ImageSource: the selectors users pass (skopeo's bare tag), and content that
 * does not match its digest failing when read, never silently.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { digestHex } from '../oci/digest.ts';
import { writeLayout } from '../../test/image/layout-fixture.ts';
import { openLayoutImage } from './layout-source.ts';

const amd64 = { os: 'linux', architecture: 'amd64' };

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'mobyts-layout-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function drain(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

void test('a layout written by `skopeo copy … oci:DIR:TAG` is selected by its bare tag', async (t) => {
  const dir = tempDir(t);
  const { manifest } = await writeLayout(dir, 'v1.2', [
    [
      { name: 'etc', type: 'directory' },
      { name: 'etc/motd', data: 'hi' },
    ],
  ]);
  const img = await openLayoutImage(dir, 'v1.2', amd64);
  assert.equal(img.manifestDigest, manifest);
  const layer = img.manifest.layers[0];
  assert.ok(layer !== undefined);
  const tar = gunzipSync(await drain(await img.openLayer(layer)));
  assert.match(tar.toString('latin1'), /etc\/motd/);
});

void test('a layer whose bytes do not match its digest fails at the end of the stream (DIGEST_MISMATCH)', async (t) => {
  const dir = tempDir(t);
  const { layers } = await writeLayout(dir, 'example.com/x:1', [[{ name: 'a', data: 'original content' }]]);
  const layer = layers[0];
  assert.ok(layer !== undefined);
  const file = join(dir, 'blobs/sha256', digestHex(layer.digest));
  const bytes = readFileSync(file);
  bytes[bytes.length - 9] = (bytes[bytes.length - 9] ?? 0) ^ 0xff; // same size, different content
  writeFileSync(file, bytes);
  const img = await openLayoutImage(dir, 'example.com/x:1', amd64);
  await assert.rejects(drain(await img.openLayer(layer)), { code: 'DIGEST_MISMATCH' });
});

void test('a blob index.json names that is missing, or an index.json that is not JSON, is a user error naming the layout', async (t) => {
  const dir = tempDir(t);
  const { manifest } = await writeLayout(dir, 'example.com/x:1', [[{ name: 'a', data: 'a' }]]);
  rmSync(join(dir, 'blobs/sha256', digestHex(manifest)));
  await assert.rejects(openLayoutImage(dir, 'example.com/x:1', amd64), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'NOT_FOUND');
    assert.equal(err.message, `Cannot read OCI layout "${dir}": blob ${manifest} is missing or not JSON`);
    assert.ok(err.cause !== undefined, 'the read failure is kept as the cause');
    return true;
  });
  writeFileSync(join(dir, 'index.json'), '{not json');
  await assert.rejects(openLayoutImage(dir, 'example.com/x:1', amd64), {
    code: 'IMAGE_CONFIG',
    message: `Cannot read OCI layout "${dir}": index.json is not JSON`,
  });
});
