import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseReference } from '../oci/reference.ts';
import { pullContext } from './client.ts';
import { classify } from './http-util.ts';

void test('Docker Hub rate limiting gets a readable message and what to do', () => {
  const hub = pullContext(parseReference('alpine:3.20'));
  assert.deepEqual(classify(429, ['TOOMANYREQUESTS'], ['You have reached your pull rate limit'], true, hub), [
    'REGISTRY',
    'Docker Hub pull rate limit reached',
    'log in with `docker login` to raise the limit, wait a few hours, or use --mirror',
  ]);
  assert.equal(classify(429, [], [], false, hub)[1], 'the registry is rate limiting requests (too many requests)');
});

void test('statuses map to codes users can act on', () => {
  const ctx = pullContext(parseReference('ghcr.io/a/b:1'));
  assert.deepEqual(classify(404, ['MANIFEST_UNKNOWN'], ['manifest unknown'], false, ctx).slice(0, 2), [
    'NOT_FOUND',
    'manifest unknown',
  ]);
  assert.deepEqual(classify(404, ['NAME_UNKNOWN'], [], false, ctx).slice(0, 2), ['NOT_FOUND', 'repository not found']);
  assert.deepEqual(classify(403, ['DENIED'], ['requested access to the resource is denied'], false, ctx).slice(0, 2), [
    'AUTH',
    'access denied: requested access to the resource is denied',
  ]);
  assert.equal(classify(502, [], [], false, ctx)[0], 'REGISTRY');
  assert.equal(pullContext(parseReference('alpine:3.20')).subject, 'Cannot pull "docker.io/library/alpine:3.20"');
});
