// A key that cannot be read says so in the trust error and keeps the error behind it as the cause.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keyId, loadKey, type TufKey } from './keys.ts';
import { verifyThreshold } from './tuf.ts';
import type { MobyError } from '../util/errors.ts';

const BROKEN: TufKey = { keytype: 'ecdsa', keyval: { public: Buffer.from('not a DER key').toString('base64') } };

void test('an unreadable key: a short reason, and the error behind it as the cause', () => {
  const loaded = loadKey(BROKEN);
  assert.equal(loaded.ok, false);
  if (loaded.ok) return;
  assert.equal(loaded.reason, 'unreadable ecdsa key');
  assert.ok(loaded.cause instanceof Error);
});

void test('verifyThreshold names the unreadable key in its message and attaches why it could not be read', () => {
  const id = keyId(BROKEN);
  const doc = {
    role: 'timestamp',
    signed: {},
    rawSigned: {},
    signatures: [{ keyid: id, method: 'ecdsa', sig: '' }],
    bytes: new Uint8Array(),
  };
  const ctx = { subject: 'docker.io/linuxkit/kernel:6.6', gun: 'docker.io/linuxkit/kernel', now: new Date(0) };
  assert.throws(
    () => verifyThreshold(doc, { [id]: BROKEN }, { keyids: [id], threshold: 1 }, ctx),
    (err: MobyError) => {
      assert.equal(
        err.message,
        `Cannot verify "docker.io/linuxkit/kernel:6.6" with Docker Content Trust: timestamp metadata has 0 valid signature(s) from its 1 key(s), 1 required (key ${id.slice(0, 12)}: unreadable ecdsa key)`,
      );
      const loaded = loadKey(BROKEN);
      assert.ok(err.cause instanceof Error && !loaded.ok && loaded.cause instanceof Error);
      assert.equal(err.cause.message, loaded.cause.message);
      return true;
    },
  );
});
