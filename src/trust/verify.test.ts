import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseReference } from '../oci/reference.ts';
import { isTrusted } from './verify.ts';

const DIGEST = `sha256:${'c'.repeat(64)}`;

void describe('isTrusted (moby/tool enforceContentTrust, after expansion)', () => {
  const table: [string, { image?: string[]; org?: string[] }, boolean][] = [
    ['linuxkit/kernel:6.6', { image: ['linuxkit/kernel:6.6'] }, true],
    ['linuxkit/kernel:6.6', { image: ['docker.io/linuxkit/kernel'] }, true],
    ['linuxkit/kernel:6.6', { image: ['linuxkit/kernel'] }, true],
    ['linuxkit/kernel:6.6', { image: ['linuxkit/kernel:6.7'] }, false],
    [`linuxkit/kernel:6.6@${DIGEST}`, { image: ['linuxkit/kernel:6.6'] }, true],
    [`linuxkit/kernel@${DIGEST}`, { image: ['linuxkit/kernel'] }, true],
    ['linuxkit/kernel:6.6', { image: ['linuxkit/kern'] }, false],
    ['alpine:3.20', { org: ['library'] }, true],
    ['docker.io/library/alpine', { org: ['library'] }, true],
    ['linuxkit/init:v1', { org: ['linuxkit'] }, true],
    ['linuxkit/init:v1', { org: ['linux'] }, false],
    ['127.0.0.1:5000/foo/bar:v1', { org: ['foo'] }, true],
    ['127.0.0.1:5000/foo/bar:v1', { org: ['127.0.0.1:5000/foo'] }, true],
    ['127.0.0.1:5000/foo/bar:v1', { org: ['127.0.0.1:5001/foo'] }, false],
    ['127.0.0.1:5000/bar:v1', { org: ['library'] }, false],
    ['127.0.0.1:5000/bar:v1', { image: ['127.0.0.1:5000/bar'] }, true],
    ['alpine', {}, false],
  ];
  for (const [ref, trust, expected] of table) {
    void it(`${ref} with ${JSON.stringify(trust)} → ${expected}`, () => {
      assert.equal(isTrusted(parseReference(ref), trust), expected);
    });
  }
  void it('is false without a trust section', () => {
    assert.equal(isTrusted(parseReference('alpine'), undefined), false);
  });
});
