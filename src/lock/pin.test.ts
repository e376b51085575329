import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseReference } from '../oci/reference.ts';
import type { Digest } from '../oci/digest.ts';
import { parseLock, serialiseLock, type Lockfile } from './lockfile.ts';
import { checkLockedSource, pinFromLock, pinLines } from './pin.ts';

const d = (c: string): Digest => `sha256:${c.repeat(64)}` as Digest;
const LOCK: Lockfile & { file: string } = {
  file: 'x.yml.lock',
  lockfileVersion: 1,
  images: {
    'docker.io/linuxkit/kernel:6.6': {
      digest: d('1'),
      mediaType: 'application/vnd.oci.image.index.v1+json',
      trust: 'verified',
      signedBy: ['targets/releases'],
      platforms: [
        { platform: 'linux/amd64', digest: d('2') },
        { platform: 'linux/arm64/v8', digest: d('3') },
      ],
    },
    'docker.io/library/alpine:3.20': {
      digest: d('4'),
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      trust: 'none',
    },
  },
};

void describe('lockfile', () => {
  void it('serialises with sorted keys, two-space indent and a trailing newline, and parses back', () => {
    const text = serialiseLock({
      images: {
        b: { trust: 'none', mediaType: 'm', digest: d('a') },
        a: { digest: d('b'), mediaType: 'm', trust: 'none' },
      },
      lockfileVersion: 1,
    });
    assert.equal(
      text,
      `{\n  "images": {\n    "a": {\n      "digest": "${d('b')}",\n      "mediaType": "m",\n      "trust": "none"\n    },\n` +
        `    "b": {\n      "digest": "${d('a')}",\n      "mediaType": "m",\n      "trust": "none"\n    }\n  },\n  "lockfileVersion": 1\n}\n`,
    );
    assert.deepEqual(parseLock(text, 'f'), JSON.parse(text));
  });
  void it('names the file and the bad field', () => {
    assert.throws(
      () =>
        parseLock(
          '{"lockfileVersion":1,"images":{"x":{"digest":"sha256:zz","mediaType":"m","trust":"none"}}}',
          'a.lock',
        ),
      { message: 'Cannot read lockfile "a.lock": images["x"].digest is not a digest' },
    );
    assert.throws(
      () => parseLock('{"lockfileVersion":2,"images":{}}', 'a.lock'),
      /lockfileVersion is 2, this mobyts reads 1/,
    );
  });
});

void describe('pinFromLock', () => {
  void it('pins an index to its digest and picks the platform manifest (variant ignored)', () => {
    const pin = pinFromLock(LOCK, parseReference('linuxkit/kernel:6.6'), 'arm64');
    assert.equal(pin.ref.expanded, `docker.io/linuxkit/kernel:6.6@${d('1')}`);
    assert.equal(pin.manifestDigest, d('3'));
    assert.deepEqual(pin.signedBy, ['targets/releases']);
  });
  void it('pins a single manifest for any arch', () => {
    assert.equal(pinFromLock(LOCK, parseReference('alpine:3.20'), 'riscv64').manifestDigest, d('4'));
  });
  void it('refuses what the lock does not cover', () => {
    assert.throws(() => pinFromLock(LOCK, parseReference('alpine:3.21'), 'amd64'), {
      message: 'Cannot use locked image "docker.io/library/alpine:3.21" from "x.yml.lock": it is not in the lockfile',
    });
    assert.throws(
      () => pinFromLock(LOCK, parseReference('linuxkit/kernel:6.6'), 's390x'),
      /the locked index sha256:1{64} has no linux\/s390x manifest \(have linux\/amd64, linux\/arm64\/v8\)/,
    );
  });
  void it('checks the store returned the locked manifest', () => {
    const pin = pinFromLock(LOCK, parseReference('linuxkit/kernel:6.6'), 'amd64');
    assert.doesNotThrow(() => {
      checkLockedSource(pin, { manifestDigest: d('2') });
    });
    assert.throws(() => {
      checkLockedSource(pin, { manifestDigest: d('5') });
    }, /the lock pins manifest sha256:2{64} but the store resolved sha256:5{64}/);
  });
});

void describe('pinLines', () => {
  void it('shows each pin for the build platform, sorted', () => {
    assert.deepEqual(pinLines(LOCK, 'arm64'), [
      `docker.io/library/alpine:3.20 → ${d('4')} (linux/arm64 ${d('4')}) trust=none`,
      `docker.io/linuxkit/kernel:6.6 → ${d('1')} (linux/arm64 ${d('3')}) trust=verified by targets/releases`,
    ]);
    assert.equal(
      pinLines(LOCK, 's390x')[1],
      `docker.io/linuxkit/kernel:6.6 → ${d('1')} (no linux/s390x manifest) trust=verified by targets/releases`,
    );
  });
});
