/**
 * Resolution of tags through the real Debian notary-server/notary-signer, with metadata published by the real
 * `notary` client (ecdsa-x509 root, ecdsa roles, server-signed timestamp).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openNotaryClient, type NotaryClient } from '../../src/registry/notary.ts';
import { resolveSignedTarget, type SignedTarget } from '../../src/trust/notary-resolve.ts';
import { resetPinned } from '../../src/trust/pin-store.ts';
import { startNotary, type NotaryServer } from '../helpers/notary.ts';

const hex = (s: string): string => createHash('sha256').update(s).digest('hex');
const DAY = 24 * 3600 * 1000;

let notary: NotaryServer;
let client: NotaryClient;
let work: string;

before(async () => {
  notary = await startNotary();
  client = await openNotaryClient({ server: notary.url, caFile: notary.caFile });
  work = await mkdtemp(path.join(tmpdir(), 'mobyts-trust-it-'));
});
after(async () => {
  await client.close();
  await notary.stop();
  await rm(work, { recursive: true, force: true });
});

async function resolve(gun: string, tag: string, trustDir: string, now = new Date()): Promise<SignedTarget> {
  return resolveSignedTarget(tag, { client, trustDir, ctx: { subject: `${gun}:${tag}`, gun, now } });
}

void describe('Notary v1 resolution against notary-server', { timeout: 240_000 }, () => {
  void it('resolves a signed tag to the signed digest, from targets and from targets/releases', async () => {
    const gun = '127.0.0.1:5000/signed/app';
    await notary.sign(gun, 'v1', { digest: hex('one'), size: 101 });
    const trustDir = path.join(work, 'a');
    const got = await resolve(gun, 'v1', trustDir);
    assert.equal(got.digest, `sha256:${hex('one')}`);
    assert.equal(got.length, 101);
    assert.equal(got.role, 'targets');
    await notary.addReleasesDelegation(gun);
    await notary.sign(gun, 'v2', { digest: hex('two'), size: 202 }, { role: 'targets/releases' });
    const rel = await resolve(gun, 'v2', trustDir);
    assert.equal(rel.digest, `sha256:${hex('two')}`);
    assert.equal(rel.role, 'targets/releases');
  });

  void it('refuses an unsigned repository and an unsigned tag', async () => {
    const trustDir = path.join(work, 'b');
    await assert.rejects(resolve('127.0.0.1:5000/nobody/app', 'v1', trustDir), {
      message: `Cannot verify "127.0.0.1:5000/nobody/app:v1" with Docker Content Trust: "127.0.0.1:5000/nobody/app" has no trust data on ${notary.url} (the repository is not signed)`,
    });
    const gun = '127.0.0.1:5000/partly/app';
    await notary.sign(gun, 'v1', { digest: hex('p'), size: 1 });
    await assert.rejects(resolve(gun, 'v9', trustDir), /the tag "v9" is not signed in "127.0.0.1:5000\/partly\/app"/);
  });

  void it("refuses the server's timestamp once it has expired (notary-server signs it for 14 days)", async () => {
    const gun = '127.0.0.1:5000/expiring/app';
    await notary.sign(gun, 'v1', { digest: hex('e'), size: 1 });
    await assert.rejects(
      resolve(gun, 'v1', path.join(work, 'c'), new Date(Date.now() + 15 * DAY)),
      /Cannot verify "127.0.0.1:5000\/expiring\/app:v1" with Docker Content Trust: timestamp metadata expired at \S+ \(now \S+\)/,
    );
  });

  void it('refuses a repository re-initialised with a new root key until the pin is reset', async () => {
    const gun = '127.0.0.1:5000/swapped/app';
    const trustDir = path.join(work, 'd');
    await notary.sign(gun, 'v1', { digest: hex('old'), size: 1 });
    assert.equal((await resolve(gun, 'v1', trustDir)).digest, `sha256:${hex('old')}`);
    await notary.notary(['delete', gun, '--remote']);
    const attacker = path.join(work, 'attacker-notary');
    await notary.sign(gun, 'v1', { digest: hex('evil'), size: 1 }, { trustDir: attacker });
    await assert.rejects(
      resolve(gun, 'v1', trustDir),
      /with Docker Content Trust: the root key changed: pinned root key [0-9a-f]{12}, server has [0-9a-f]{12}/,
    );
    assert.equal(await resetPinned(trustDir, gun), true);
    assert.equal((await resolve(gun, 'v1', trustDir)).digest, `sha256:${hex('evil')}`);
  });

  void it('refuses older metadata than already seen (rollback), even under the same root key', async () => {
    const gun = '127.0.0.1:5000/rollback/app';
    const trustDir = path.join(work, 'e');
    const publisher = path.join(work, 'publisher-e');
    await notary.sign(gun, 'v1', { digest: hex('r1'), size: 1 }, { trustDir: publisher });
    await notary.sign(gun, 'v1', { digest: hex('r2'), size: 1 }, { trustDir: publisher });
    assert.equal((await resolve(gun, 'v1', trustDir)).digest, `sha256:${hex('r2')}`);
    // Same publisher keys, fresh collection on the server: versions start again at 1.
    await notary.notary(['delete', gun, '--remote'], publisher);
    await notary.notary(['init', gun], publisher);
    await notary.notary(['addhash', gun, 'v1', '1', '--sha256', hex('r1')], publisher);
    await notary.notary(['publish', gun], publisher);
    await assert.rejects(
      resolve(gun, 'v1', trustDir),
      /metadata version \d+ is older than version \d+ already seen \(rollback\)/,
    );
  });
});
