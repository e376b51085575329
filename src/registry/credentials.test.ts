import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultCredentialStore, hostKeys } from './credentials.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mobyts-creds-'));
  dirs.push(d);
  return d;
}
const b64 = (s: string): string => Buffer.from(s).toString('base64');

void test('MOBYTS_REGISTRY_AUTH (docker form or bare map) wins; USER/PASSWORD limited by MOBYTS_REGISTRY_HOST', async () => {
  const home = await tmp();
  const env = {
    HOME: home,
    MOBYTS_REGISTRY_AUTH: JSON.stringify({ auths: { 'ghcr.io': { auth: b64('ci:tok:with:colons') } } }),
  };
  assert.deepEqual(await defaultCredentialStore(env).get('ghcr.io'), {
    kind: 'basic',
    username: 'ci',
    password: 'tok:with:colons',
  });
  assert.deepEqual(
    await defaultCredentialStore({
      HOME: home,
      MOBYTS_REGISTRY_AUTH: '{"quay.io":{"username":"a","password":"b"}}',
    }).get('quay.io'),
    { kind: 'basic', username: 'a', password: 'b' },
  );
  const userEnv = {
    HOME: home,
    MOBYTS_REGISTRY_USER: 'u',
    MOBYTS_REGISTRY_PASSWORD: 'p',
    MOBYTS_REGISTRY_HOST: 'docker.io',
  };
  assert.deepEqual(await defaultCredentialStore(userEnv).get('registry-1.docker.io'), {
    kind: 'basic',
    username: 'u',
    password: 'p',
  });
  assert.equal(await defaultCredentialStore(userEnv).get('ghcr.io'), undefined);
  await assert.rejects(defaultCredentialStore({ MOBYTS_REGISTRY_AUTH: '{' }).get('x'), {
    code: 'USAGE',
    message: 'Cannot read MOBYTS_REGISTRY_AUTH: it is not valid JSON',
  });
});

void test('docker config: Docker Hub key, identity tokens, credHelpers and credsStore via docker-credential-*', async () => {
  const dir = await tmp();
  const bin = join(dir, 'bin');
  await mkdir(bin);
  await writeFile(
    join(bin, 'docker-credential-fake'),
    '#!/bin/sh\nread host\nif [ "$host" = "helped.example" ]; then echo \'{"ServerURL":"helped.example","Username":"hu","Secret":"hs"}\'; elif [ "$host" = "tok.example" ]; then echo \'{"Username":"<token>","Secret":"refresh"}\'; else echo "credentials not found in native keychain"; exit 1; fi\n',
  );
  await chmod(join(bin, 'docker-credential-fake'), 0o755);
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({
      auths: { 'https://index.docker.io/v1/': { auth: b64('hubuser:hubpw') }, 'id.example': { identitytoken: 'idt' } },
      credHelpers: { 'helped.example': 'fake' },
      credsStore: 'fake',
    }),
  );
  const store = defaultCredentialStore({ DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: dir });
  assert.deepEqual(await store.get('docker.io'), { kind: 'basic', username: 'hubuser', password: 'hubpw' });
  assert.deepEqual(await store.get('id.example'), { kind: 'identity', identityToken: 'idt' });
  assert.deepEqual(await store.get('helped.example'), { kind: 'basic', username: 'hu', password: 'hs' });
  assert.deepEqual(await store.get('tok.example'), { kind: 'identity', identityToken: 'refresh' });
  assert.equal(await store.get('unknown.example'), undefined);
  assert.ok(store.secrets().includes('hubpw') && store.secrets().includes('hs'));
});

void test('podman auth.json from REGISTRY_AUTH_FILE and XDG_RUNTIME_DIR', async () => {
  const dir = await tmp();
  await mkdir(join(dir, 'containers'));
  await writeFile(
    join(dir, 'containers', 'auth.json'),
    JSON.stringify({ auths: { 'quay.io': { auth: b64('pu:pp') } } }),
  );
  await writeFile(join(dir, 'explicit.json'), JSON.stringify({ auths: { 'ghcr.io': { auth: b64('eu:ep') } } }));
  const env = {
    HOME: dir,
    DOCKER_CONFIG: join(dir, 'none'),
    XDG_RUNTIME_DIR: dir,
    REGISTRY_AUTH_FILE: join(dir, 'explicit.json'),
  };
  assert.deepEqual(await defaultCredentialStore(env).get('quay.io'), { kind: 'basic', username: 'pu', password: 'pp' });
  assert.deepEqual(await defaultCredentialStore(env).get('ghcr.io'), { kind: 'basic', username: 'eu', password: 'ep' });
});

void test('host keys', () => {
  assert.deepEqual(hostKeys('registry-1.docker.io'), [
    'https://index.docker.io/v1/',
    'index.docker.io',
    'docker.io',
    'registry-1.docker.io',
  ]);
  assert.equal(hostKeys('127.0.0.1:5000')[0], '127.0.0.1:5000');
});

void test('a credsStore helper that is not installed means anonymous, not an error', async () => {
  const dir = await tmp();
  await writeFile(join(dir, 'config.json'), JSON.stringify({ credsStore: 'not-installed-anywhere' }));
  assert.equal(await defaultCredentialStore({ DOCKER_CONFIG: dir, HOME: dir, PATH: dir }).get('ghcr.io'), undefined);
});
