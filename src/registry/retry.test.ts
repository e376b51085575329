import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultRetryPolicy, isRetryableError, isRetryableStatus, retryDelay } from './retry.ts';

const policy = { ...defaultRetryPolicy, baseDelayMs: 100, maxDelayMs: 1500 };

void test('backoff doubles and is capped', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((a) => retryDelay(policy, a)),
    [100, 200, 400, 800, 1500],
  );
});

void test('Retry-After seconds and HTTP dates win over backoff, within the cap', () => {
  assert.equal(retryDelay(policy, 1, '1'), 1000);
  assert.equal(retryDelay(policy, 1, '30'), 1500);
  const soon = new Date(Date.now() + 60_000).toUTCString();
  assert.equal(retryDelay(policy, 1, soon), 1500);
  assert.equal(retryDelay(policy, 2, 'garbage'), 200);
});

void test('what is worth retrying', () => {
  assert.deepEqual([429, 500, 502, 503, 504, 400, 401, 403, 404].map(isRetryableStatus), [
    true,
    true,
    true,
    true,
    true,
    false,
    false,
    false,
    false,
  ]);
  assert.equal(isRetryableError(Object.assign(new Error('x'), { code: 'ECONNRESET' })), true);
  assert.equal(
    isRetryableError(new Error('wrap', { cause: Object.assign(new Error('y'), { code: 'UND_ERR_SOCKET' }) })),
    true,
  );
  assert.equal(isRetryableError(Object.assign(new Error('x'), { code: 'DIGEST_MISMATCH' })), false);
});
