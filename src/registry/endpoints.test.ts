import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiHost, endpointsFor, parseMirrors } from './endpoints.ts';

void test('bare mirror URLs mirror docker.io; REGISTRY= targets another registry', () => {
  const mirrors = parseMirrors(['https://mirror.gcr.io', 'ghcr.io=http://127.0.0.1:5001/prefix/']);
  assert.deepEqual(endpointsFor('docker.io', mirrors, 'https', true), [
    { base: 'https://mirror.gcr.io', host: 'mirror.gcr.io', mirror: true },
    { base: 'https://registry-1.docker.io', host: 'registry-1.docker.io', mirror: false },
  ]);
  assert.deepEqual(endpointsFor('ghcr.io', mirrors, 'https', true)[0], {
    base: 'http://127.0.0.1:5001/prefix',
    host: '127.0.0.1:5001',
    mirror: true,
  });
  assert.equal(endpointsFor('ghcr.io', mirrors, 'https', false).length, 1, 'pushes never go to mirrors');
});

void test('Docker Hub aliases', () => {
  assert.equal(apiHost('docker.io'), 'registry-1.docker.io');
  assert.equal(apiHost('index.docker.io'), 'registry-1.docker.io');
  assert.equal(apiHost('localhost:5000'), 'localhost:5000');
});

void test('bad mirrors are usage errors', () => {
  assert.throws(() => parseMirrors(['ftp://x']), {
    message: 'Invalid mirror "ftp://x": the URL must start with http:// or https://',
    code: 'USAGE',
  });
  assert.throws(() => parseMirrors(['docker.io=nope']), {
    message: 'Invalid mirror "docker.io=nope": expected [REGISTRY=]http(s)://HOST[:PORT][/PATH]',
  });
});
