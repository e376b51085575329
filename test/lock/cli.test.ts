/** The `mobyts lock` and `mobyts trust reset` commands as a user runs them (real registry and notary-server). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { digestHex } from '../../src/oci/digest.ts';
import { startNotary, type NotaryServer } from '../helpers/notary.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { buildImage, pushImage, randomLayer } from '../helpers/images.ts';

const exec = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../../bin/mobyts.js');

let notary: NotaryServer;
let registry: TestRegistry;
let work: string;

before(async () => {
  [notary, registry] = await Promise.all([startNotary(), startRegistry()]);
  work = await mkdtemp(path.join(tmpdir(), 'mobyts-lock-cli-'));
});
after(async () => {
  await Promise.all([notary.stop(), registry.stop()]);
  await rm(work, { recursive: true, force: true });
});

async function mobyts(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, MOBYTS_TRUST_DIR: path.join(work, 'trust'), DOCKER_CONTENT_TRUST_SERVER: notary.url };
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { env, cwd: work });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

void describe('mobyts lock / trust reset (CLI)', { timeout: 240_000 }, () => {
  void it('locks a signed image, refuses a swapped root with exit 1 until `trust reset`', async () => {
    const gun = `${registry.host}/cli/app`;
    const image = await buildImage({ layers: [randomLayer()] });
    const digest = await pushImage(registry.host, 'cli/app:v1', image);
    await notary.sign(gun, 'v1', { digest: digestHex(digest), size: image.manifestBytes.length });
    await writeFile(
      path.join(work, 'app.yml'),
      `onboot:\n  - name: app\n    image: ${gun}:v1\ntrust:\n  image:\n    - ${gun}\n`,
    );

    const first = await mobyts(['lock', 'app.yml', '--cert-file', notary.caFile]);
    assert.equal(first.code, 0, first.stderr);
    const lock = JSON.parse(await readFile(path.join(work, 'app.yml.lock'), 'utf8')) as {
      images: Record<string, { digest: string; trust: string }>;
    };
    assert.deepEqual(lock.images[`${gun}:v1`]?.digest, digest);
    assert.equal(lock.images[`${gun}:v1`]?.trust, 'verified');
    const verified = await mobyts(['trust', 'verify', `${gun}:v1`, '--cert-file', notary.caFile]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, new RegExp(`^${gun}:v1 ${digest} signed by targets \\([0-9a-f]{12}\\)\n$`));

    await notary.notary(['delete', gun, '--remote']);
    await notary.sign(
      gun,
      'v1',
      { digest: digestHex(digest), size: image.manifestBytes.length },
      { trustDir: path.join(work, 'other-publisher') },
    );
    const refused = await mobyts(['lock', 'app.yml', '--cert-file', notary.caFile, '--output', 'second.lock']);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      new RegExp(
        `Cannot verify "${gun}:v1" with Docker Content Trust: the root key changed: pinned root key [0-9a-f]{12}, server has [0-9a-f]{12}`,
      ),
    );
    assert.match(refused.stderr, new RegExp(`mobyts trust reset ${gun}`));
    await assert.rejects(readFile(path.join(work, 'second.lock')));

    const reset = await mobyts(['trust', 'reset', gun]);
    assert.equal(reset.code, 0);
    assert.equal(reset.stderr, `reset trust pin for ${gun}\n`);
    const again = await mobyts(['lock', 'app.yml', '--cert-file', notary.caFile, '--output', 'second.lock']);
    assert.equal(again.code, 0, again.stderr);
  });
});
