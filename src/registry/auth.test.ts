import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChallenge } from './auth.ts';

void test('parses Docker Hub style Bearer challenges', () => {
  assert.deepEqual(
    parseChallenge(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
    ),
    {
      scheme: 'bearer',
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
      scope: 'repository:library/alpine:pull',
    },
  );
});

void test('parses Basic, unquoted values, escapes, and picks a known scheme from several headers', () => {
  assert.deepEqual(parseChallenge('Basic realm="my \\"reg\\""'), { scheme: 'basic', realm: 'my "reg"' });
  assert.deepEqual(parseChallenge('bearer realm=http://x/t, service=s'), {
    scheme: 'bearer',
    realm: 'http://x/t',
    service: 's',
  });
  assert.deepEqual(parseChallenge(['Negotiate abc', 'Basic realm="r"']), { scheme: 'basic', realm: 'r' });
  assert.equal(parseChallenge('Negotiate abc'), undefined);
  assert.equal(parseChallenge(undefined), undefined);
});
