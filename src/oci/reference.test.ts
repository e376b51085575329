// LinuxKit's ReferenceExpand table (docs/linuxkit-behaviour.md#references) plus registries with ports, IPv6 literals
// and errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidReferenceError, manifestSelector, parseReference, referenceName, withDigest } from './reference.ts';
import { isMobyError } from '../util/errors.ts';
import type { Digest } from './digest.ts';

const D = `sha256:${'a'.repeat(64)}`;

const EXPANSIONS: [input: string, expanded: string, registry: string, repository: string][] = [
  ['alpine', 'docker.io/library/alpine', 'docker.io', 'library/alpine'],
  ['alpine:3.20', 'docker.io/library/alpine:3.20', 'docker.io', 'library/alpine'],
  ['nginx:alpine', 'docker.io/library/nginx:alpine', 'docker.io', 'library/nginx'],
  [
    'linuxkit/init:8eea386739975a43af558eec757a7dcb3a3d2e7b',
    'docker.io/linuxkit/init:8eea386739975a43af558eec757a7dcb3a3d2e7b',
    'docker.io',
    'linuxkit/init',
  ],
  ['linuxkit/kernel:6.6.71', 'docker.io/linuxkit/kernel:6.6.71', 'docker.io', 'linuxkit/kernel'],
  ['docker.io/library/alpine', 'docker.io/library/alpine', 'docker.io', 'library/alpine'],
  ['docker.io/linuxkit/init:v1', 'docker.io/linuxkit/init:v1', 'docker.io', 'linuxkit/init'],
  ['foo/bar/baz', 'foo/bar/baz', 'docker.io', 'foo/bar/baz'],
  ['quay.io/coreos/etcd:v3.5', 'quay.io/coreos/etcd:v3.5', 'quay.io', 'coreos/etcd'],
  ['gcr.io/distroless', 'gcr.io/distroless', 'gcr.io', 'distroless'],
  ['localhost/foo', 'localhost/foo', 'localhost', 'foo'],
  ['localhost:5000/x', 'localhost:5000/x', 'localhost:5000', 'x'],
  ['localhost:5000/x:1', 'localhost:5000/x:1', 'localhost:5000', 'x'],
  ['127.0.0.1:5000/x', '127.0.0.1:5000/x', '127.0.0.1:5000', 'x'],
  ['[::1]:5000/x', '[::1]:5000/x', '[::1]:5000', 'x'],
  ['registry.example:443/a/b', 'registry.example:443/a/b', 'registry.example:443', 'a/b'],
  [`alpine@${D}`, `docker.io/library/alpine@${D}`, 'docker.io', 'library/alpine'],
  [`linuxkit/init:v1@${D}`, `docker.io/linuxkit/init:v1@${D}`, 'docker.io', 'linuxkit/init'],
  ['mobylinux/kernel:4.9.x', 'docker.io/mobylinux/kernel:4.9.x', 'docker.io', 'mobylinux/kernel'],
];

for (const [input, expanded, registry, repository] of EXPANSIONS) {
  void test(`expands ${input}`, () => {
    const ref = parseReference(input);
    assert.equal(ref.original, input);
    assert.equal(ref.expanded, expanded);
    assert.equal(ref.registry, registry);
    assert.equal(ref.repository, repository);
  });
}

void test('tag, digest and manifest selector', () => {
  assert.equal(parseReference('alpine').tag, undefined);
  assert.equal(manifestSelector(parseReference('alpine')), 'latest');
  assert.equal(manifestSelector(parseReference('alpine:3.20')), '3.20');
  assert.equal(manifestSelector(parseReference(`alpine:3.20@${D}`)), D);
  assert.equal(referenceName(parseReference('localhost:5000/x:1')), 'localhost:5000/x');
  assert.equal(withDigest(parseReference('redis:7'), D as Digest).expanded, `docker.io/library/redis:7@${D}`);
});

const INVALID: [input: string, why: string][] = [
  ['', 'it is empty'],
  [' alpine', 'it has leading or trailing white space'],
  ['Linuxkit/init:v1', '"Linuxkit" has upper-case letters (repository names must be lower case)'],
  ['a//b', 'it has an empty path component'],
  ['alpine:', '"" is not a valid tag'],
  ['alpine:-x', '"-x" is not a valid tag'],
  ['alpine@sha256:xyz', '"sha256:xyz" is not a sha256/sha512 digest'],
  ['foo_/bar', '"foo_" is not a valid repository name component'],
  ['@pkg:./pkg/hello', 'it is an unresolved @pkg: template'],
];

for (const [input, why] of INVALID) {
  void test(`rejects ${JSON.stringify(input)}`, () => {
    assert.throws(
      () => parseReference(input),
      (err: unknown) => {
        assert.ok(isMobyError(err));
        assert.equal(err.code, 'SPEC_INVALID');
        assert.equal(err.message, `Invalid image reference "${input}": ${why}`);
        assert.ok(err instanceof InvalidReferenceError);
        assert.equal(err.reason, why);
        return true;
      },
    );
  });
}
