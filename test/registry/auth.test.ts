/** Authentication and transport security against the real registry: htpasswd Basic, token (Bearer) flow, TLS. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseReference } from '../../src/oci/reference.ts';
import { renderError } from '../../src/cli/render-error.ts';
import { staticCredentialStore } from '../../src/registry/credentials.ts';
import { openStore, platformFor } from '../../src/store/index.ts';
import { buildImage, pushImage } from '../helpers/images.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const amd64 = platformFor('amd64');
const fast = { baseDelayMs: 1, maxDelayMs: 10 };
const dirs: string[] = [];
async function cacheDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mobyts-auth-'));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

void describe('htpasswd (Basic) auth', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry({ auth: 'htpasswd' });
  });
  after(async () => {
    await reg.stop();
  });

  void it('pulls with the right credentials and refuses without them, never printing the password', async () => {
    const img = await buildImage();
    await pushImage(reg.host, 'private/app:1', img, { credentials: reg.credentials });
    const ref = parseReference(`${reg.host}/private/app:1`);
    const good = await openStore(await cacheDir(), {
      client: { retry: fast, credentials: staticCredentialStore(reg.credentials) },
    });
    assert.equal((await good.getImage(ref, reg.pullOptions(amd64))).manifestDigest, img.descriptor.digest);

    const anon = await openStore(await cacheDir(), { client: { retry: fast, credentials: staticCredentialStore({}) } });
    await assert.rejects(anon.getImage(ref, reg.pullOptions(amd64)), {
      code: 'AUTH',
      message: `Cannot pull "${reg.host}/private/app:1": ${reg.host} requires a user name and password`,
    });
    const wrong = await openStore(await cacheDir(), {
      client: {
        retry: fast,
        credentials: staticCredentialStore({
          [reg.host]: { kind: 'basic', username: reg.username, password: 'not-the-password-123' },
        }),
      },
    });
    const err = await wrong.getImage(ref, reg.pullOptions(amd64)).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e as Error,
    );
    assert.equal(
      err.message,
      `Cannot pull "${reg.host}/private/app:1": not authorized (HEAD http://${reg.host}/v2/private/app/manifests/1 → HTTP 401)`,
    );
    assert.ok(!`${err.message} ${err.stack} ${JSON.stringify(err)}`.includes('not-the-password-123'));
  });
});

void describe('token (Bearer) auth, the Docker Hub flow', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry({ auth: 'token', anonymousPull: true });
  });
  after(async () => {
    await reg.stop();
  });

  void it('pulls anonymously with a pull-scoped token, one token request per scope', async () => {
    const img = await buildImage();
    await pushImage(reg.host, 'pub/app:1', img, { credentials: reg.credentials });
    const before = reg.tokenRequests;
    const store = await openStore(await cacheDir(), {
      client: { retry: fast, credentials: staticCredentialStore({}) },
    });
    const src = await store.getImage(parseReference(`${reg.host}/pub/app:1`), reg.pullOptions(amd64));
    assert.equal(src.manifestDigest, img.descriptor.digest);
    assert.equal(reg.tokenRequests - before, 1);
  });

  void it('refuses to push anonymously, naming the token service', async () => {
    await assert.rejects(pushImage(reg.host, 'pub/nope:1', await buildImage()), {
      code: 'AUTH',
      message: `Cannot push "${reg.host}/pub/nope:1": not authorized: authentication required (POST http://${reg.host}/v2/pub/nope/blobs/uploads/ → HTTP 401 UNAUTHORIZED)`,
    });
  });

  void it('uses an identity token (OAuth2 refresh_token POST) instead of a password', async () => {
    const img = await buildImage();
    await pushImage(reg.host, 'pub/idt:1', img, {
      credentials: { [reg.host]: { kind: 'identity', identityToken: reg.identityToken } },
    });
    const store = await openStore(await cacheDir(), {
      client: {
        retry: fast,
        credentials: staticCredentialStore({ [reg.host]: { kind: 'identity', identityToken: reg.identityToken } }),
      },
    });
    assert.equal(
      (await store.getImage(parseReference(`${reg.host}/pub/idt:1`), reg.pullOptions(amd64))).manifestDigest,
      img.descriptor.digest,
    );
  });

  void it('reports rejected credentials without the password', async () => {
    const store = await openStore(await cacheDir(), {
      client: {
        retry: fast,
        credentials: staticCredentialStore({
          [reg.host]: { kind: 'basic', username: 'x', password: 'wrong-secret-pw' },
        }),
      },
    });
    const err = await store.getImage(parseReference(`${reg.host}/pub/app:1`), reg.pullOptions(amd64)).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e as Error,
    );
    assert.equal(
      err.message,
      `Cannot pull "${reg.host}/pub/app:1": the token service ${reg.tokenUrl} rejected the credentials (HTTP 401)`,
    );
    assert.ok(!`${err.message} ${err.stack}`.includes('wrong-secret-pw'));
  });
});

void describe('TLS', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry({ tls: true });
  });
  after(async () => {
    await reg.stop();
  });

  void it('verifies the server against the given CA, refuses an unknown CA, and allows --insecure-registry', async () => {
    const img = await buildImage();
    await pushImage(reg.host, 'tls/app:1', img, { registry: reg.registryOptions });
    const ref = parseReference(`${reg.host}/tls/app:1`);
    const withCa = await openStore(await cacheDir(), { client: { retry: fast } });
    assert.equal((await withCa.getImage(ref, reg.pullOptions(amd64))).manifestDigest, img.descriptor.digest);

    // loopback without a CA: https fails verification, the http fallback meets a TLS port → clear error
    const noCa = await openStore(await cacheDir(), { client: { retry: { ...fast, tries: 1 } } });
    const untrusted = await noCa
      .getImage(ref, reg.pullOptions(amd64, { registry: { mirrors: [], insecureRegistries: [] } }))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    // the message says what failed; Node's own words for the TLS failure follow as the cause, unedited
    assert.equal(
      renderError(untrusted).text,
      [
        `Error: Cannot pull "${reg.host}/tls/app:1": cannot reach ${reg.host}: TLS certificate not trusted`,
        'caused by: unable to verify the first certificate; if the root CA is installed locally, try running Node.js with --use-system-ca',
        `hint: pass the registry's CA with --cert-file, or allow it with --insecure-registry ${reg.host}`,
        '',
      ].join('\n'),
    );
    const insecure = await openStore(await cacheDir(), { client: { retry: fast } });
    const src = await insecure.getImage(
      ref,
      reg.pullOptions(amd64, { registry: { mirrors: [], insecureRegistries: [reg.host] } }),
    );
    assert.equal(src.manifestDigest, img.descriptor.digest);
  });
});
