import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactHeaders, redactText, redactUrl } from './redact.ts';

void test('URLs lose user-info and query values (CDN signatures)', () => {
  assert.equal(
    redactUrl('https://user:pa55@cdn.example/blobs/x?X-Amz-Signature=abc&Expires=1'),
    'https://cdn.example/blobs/x?X-Amz-Signature=REDACTED&Expires=REDACTED',
  );
  assert.equal(redactUrl('http://127.0.0.1:5000/v2/a/manifests/1'), 'http://127.0.0.1:5000/v2/a/manifests/1');
  assert.equal(redactUrl('not a url'), '<unparseable URL>');
});

void test('credential headers are replaced', () => {
  assert.deepEqual(
    redactHeaders({ Authorization: 'Bearer abc', accept: 'x', 'set-cookie': ['a', 'b'], skip: undefined }),
    { Authorization: 'REDACTED', accept: 'x', 'set-cookie': 'REDACTED' },
  );
});

void test('known secrets and auth schemes vanish from free text', () => {
  assert.equal(
    redactText('denied for s3cret-pw; header Bearer eyJ.abc.def; Basic dXNlcjpwdw==', ['s3cret-pw']),
    'denied for REDACTED; header Bearer REDACTED; Basic REDACTED',
  );
});
