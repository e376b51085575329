/**
 * A Notary server behind docker token auth, as Docker Hub's is: the client answers the Bearer challenge with an
 * anonymous token and then verifies as usual.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request, Agent } from 'undici';
import { readFile } from 'node:fs/promises';
import { openNotaryClient } from '../../src/registry/notary.ts';
import { resolveSignedTarget } from '../../src/trust/notary-resolve.ts';
import { startNotary, type NotaryServer } from '../helpers/notary.ts';

let notary: NotaryServer;
let work: string;
before(async () => {
  notary = await startNotary({ auth: 'token' });
  work = await mkdtemp(path.join(tmpdir(), 'mobyts-notary-token-'));
});
after(async () => {
  await notary.stop();
  await rm(work, { recursive: true, force: true });
});

void it('resolves a signed tag through a token-protected notary-server', { timeout: 120_000 }, async () => {
  const gun = 'docker.io/tokenorg/app';
  const hex = createHash('sha256').update('token').digest('hex');
  await notary.sign(gun, 'v1', { digest: hex, size: 42 });
  const dispatcher = new Agent({ connect: { ca: [await readFile(notary.caFile, 'utf8')] } });
  const bare = await request(`${notary.url}/v2/${gun}/_trust/tuf/root.json`, { dispatcher });
  await bare.body.dump();
  await dispatcher.close();
  assert.equal(bare.statusCode, 401, 'the server must demand a token, or this test proves nothing');
  const before = notary.tokenRequests();
  const client = await openNotaryClient({ server: notary.url, caFile: notary.caFile });
  try {
    const got = await resolveSignedTarget('v1', {
      client,
      trustDir: path.join(work, 'trust'),
      ctx: { subject: `${gun}:v1`, gun, now: new Date() },
    });
    assert.equal(got.digest, `sha256:${hex}`);
  } finally {
    await client.close();
  }
  assert.ok(notary.tokenRequests() > before);
});
