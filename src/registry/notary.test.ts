import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { notaryServerFor } from './notary.ts';

void describe('notaryServerFor (docker/cli trust.Server)', () => {
  const saved = process.env['DOCKER_CONTENT_TRUST_SERVER'];
  afterEach(() => {
    if (saved === undefined) delete process.env['DOCKER_CONTENT_TRUST_SERVER'];
    else process.env['DOCKER_CONTENT_TRUST_SERVER'] = saved;
  });
  void it("uses Docker Hub's Notary for docker.io and the registry itself elsewhere", () => {
    delete process.env['DOCKER_CONTENT_TRUST_SERVER'];
    assert.equal(notaryServerFor('docker.io'), 'https://notary.docker.io');
    assert.equal(notaryServerFor('registry.example:5000'), 'https://registry.example:5000');
  });
  void it('prefers --trust-server, then $DOCKER_CONTENT_TRUST_SERVER, without trailing slashes', () => {
    process.env['DOCKER_CONTENT_TRUST_SERVER'] = 'https://env.example/';
    assert.equal(notaryServerFor('docker.io'), 'https://env.example');
    assert.equal(notaryServerFor('docker.io', 'https://flag.example:4443//'), 'https://flag.example:4443');
  });
});
