import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveSignedTarget } from '../../src/trust/notary-resolve.ts';
import { canonicalJson } from '../../src/trust/canonical-json.ts';
import { readPinned } from '../../src/trust/pin-store.ts';
import { buildRepo, makeKey, makeKeys, makeX509Key, memoryClient, type RepoOptions } from './tuf-repo.ts';

const GUN = 'registry.test/org/app';
const D1 = 'a'.repeat(64);
const D2 = 'b'.repeat(64);
const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function trustDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'mobyts-tuf-'));
  dirs.push(d);
  return d;
}

function ctx(now = new Date('2030-01-01T00:00:00Z')): { subject: string; gun: string; now: Date } {
  return { subject: `${GUN}:v1`, gun: GUN, now };
}

async function resolve(
  repo: RepoOptions | { files: Map<string, Buffer> },
  tag = 'v1',
  dir?: string,
  now?: Date,
): Promise<Awaited<ReturnType<typeof resolveSignedTarget>>> {
  const state = 'files' in repo ? repo : { files: buildRepo(repo) };
  return resolveSignedTarget(tag, { client: memoryClient(state), trustDir: dir ?? (await trustDir()), ctx: ctx(now) });
}

void describe('canonicalJson', () => {
  void it('sorts keys by UTF-8 bytes, drops white space and escapes only quote and backslash', () => {
    assert.equal(
      canonicalJson({ b: [1, 'x"\\<>&\n'], a: null, é: true, Z: {} }),
      '{"Z":{},"a":null,"b":[1,"x\\"\\\\<>&\n"],"é":true}',
    );
  });
  void it('refuses non-integers', () => {
    assert.throws(() => canonicalJson({ a: 1.5 }), /the number 1.5 is not an integer/);
  });
});

void describe('resolveSignedTarget', () => {
  for (const type of ['ecdsa', 'ed25519', 'rsa'] as const) {
    void it(`resolves a tag signed with ${type} keys and pins the root`, async () => {
      const dir = await trustDir();
      const got = await resolve({ keys: makeKeys(type), targets: { v1: D1 } }, 'v1', dir);
      assert.equal(got.digest, `sha256:${D1}`);
      assert.equal(got.role, 'targets');
      const pinned = await readPinned(dir, GUN);
      assert.ok(pinned.root !== undefined);
      assert.deepEqual(pinned.versions, { root: 1, snapshot: 1, targets: 1, timestamp: 1 });
    });
  }

  void it('prefers targets/releases over targets, as docker pull does', async () => {
    const keys = { ...makeKeys(), releases: makeKey('ed25519') };
    const got = await resolve({ keys, targets: { v1: D1 }, releases: { v1: D2 } });
    assert.equal(got.digest, `sha256:${D2}`);
    assert.equal(got.role, 'targets/releases');
    assert.deepEqual(got.keyIds, [keys.releases.id]);
  });

  void it('refuses an unsigned tag, naming tag and GUN', async () => {
    await assert.rejects(resolve({ keys: makeKeys(), targets: { v2: D1 } }), {
      message: `Cannot verify "${GUN}:v1" with Docker Content Trust: the tag "v1" is not signed in "${GUN}" (no such target in targets/releases or targets)`,
    });
  });

  void it('refuses an unsigned repository', async () => {
    await assert.rejects(
      resolve({ files: new Map() }),
      /"registry.test\/org\/app" has no trust data on memory:\/\/notary \(the repository is not signed\)/,
    );
  });

  void it('refuses targets signed by a key that is not the targets key', async () => {
    const keys = makeKeys();
    await assert.rejects(
      resolve({ keys, targets: { v1: D1 }, signers: { targets: [makeKey()] } }),
      /targets metadata has 0 valid signature\(s\) from its 1 key\(s\), 1 required/,
    );
  });

  void it('refuses a tampered signature', async () => {
    const mutate = (role: string, b: Buffer): Buffer => {
      if (role !== 'timestamp') return b;
      const doc = JSON.parse(b.toString()) as { signed: { version: number } };
      doc.signed.version = 7;
      return Buffer.from(JSON.stringify(doc));
    };
    await assert.rejects(
      resolve({ keys: makeKeys(), targets: { v1: D1 }, mutate }),
      /timestamp metadata has 0 valid signature\(s\).*bad ecdsa signature by key/,
    );
  });

  void it('enforces thresholds', async () => {
    await assert.rejects(
      resolve({ keys: makeKeys(), targets: { v1: D1 }, thresholds: { targets: 2 } }),
      /targets metadata has 1 valid signature\(s\) from its 1 key\(s\), 2 required/,
    );
  });

  void it('refuses targets whose bytes differ from the snapshot hashes', async () => {
    const state = { files: buildRepo({ keys: makeKeys(), targets: { v1: D1 } }) };
    const other = buildRepo({ keys: makeKeys(), targets: { v1: D1 } });
    state.files.set('targets', Buffer.concat([other.get('targets') ?? Buffer.alloc(0), Buffer.from(' ')]));
    await assert.rejects(resolve(state), /targets metadata is \d+ bytes, snapshot expects \d+/);
  });

  void it('refuses expired metadata with its expiry date', async () => {
    await assert.rejects(
      resolve({ keys: makeKeys(), targets: { v1: D1 }, expires: { timestamp: '2029-12-31T23:00:00Z' } }),
      {
        message: `Cannot verify "${GUN}:v1" with Docker Content Trust: timestamp metadata expired at 2029-12-31T23:00:00.000Z (now 2030-01-01T00:00:00.000Z)`,
      },
    );
  });

  void it('refuses a rollback to older versions', async () => {
    const dir = await trustDir();
    const keys = makeKeys();
    await resolve({ keys, targets: { v1: D1 }, version: 5 }, 'v1', dir);
    await assert.rejects(
      resolve({ keys, targets: { v1: D2 }, version: 4 }, 'v1', dir),
      /root metadata version 4 is older than version 5 already seen \(rollback\)/,
    );
  });

  void it('refuses a changed root key and accepts the same key again', async () => {
    const dir = await trustDir();
    const keys = makeKeys();
    await resolve({ keys, targets: { v1: D1 } }, 'v1', dir);
    await assert.rejects(
      resolve({ keys: { ...keys, root: makeKey() }, targets: { v1: D1 } }, 'v1', dir),
      /the root key changed: pinned root key [0-9a-f]{12}, server has [0-9a-f]{12}/,
    );
    const again = await resolve({ keys, targets: { v1: D2 }, version: 2 }, 'v1', dir);
    assert.equal(again.digest, `sha256:${D2}`);
  });

  void it('does not pin anything when verification fails', async () => {
    const dir = await trustDir();
    await assert.rejects(resolve({ keys: makeKeys(), targets: { v1: D1 }, thresholds: { root: 2 } }, 'v1', dir));
    assert.equal((await readPinned(dir, GUN)).root, undefined);
  });

  void it('accepts x509 root keys while their certificate is valid, and refuses them after, as notary does', async () => {
    const keys = { ...makeKeys(), root: makeX509Key(2) };
    const repo = {
      keys,
      targets: { v1: D1 },
      expires: {
        root: '2199-01-01T00:00:00Z',
        targets: '2199-01-01T00:00:00Z',
        snapshot: '2199-01-01T00:00:00Z',
        timestamp: '2199-01-01T00:00:00Z',
      },
    };
    assert.equal((await resolve(repo, 'v1', undefined, new Date())).digest, `sha256:${D1}`);
    await assert.rejects(
      resolve(repo, 'v1', undefined, new Date('2150-01-01T00:00:00Z')),
      /root metadata has 0 valid signature\(s\) from its 1 key\(s\), 1 required \(key [0-9a-f]{12}: its certificate is valid only from .* to .*\)/,
    );
  });

  void it('does not check certificate validity of delegation keys (notary checks root certificates only)', async () => {
    const keys = { ...makeKeys(), releases: makeX509Key(2) };
    const repo = {
      keys,
      releases: { v1: D2 },
      expires: {
        root: '2199-01-01T00:00:00Z',
        targets: '2199-01-01T00:00:00Z',
        snapshot: '2199-01-01T00:00:00Z',
        timestamp: '2199-01-01T00:00:00Z',
        'targets/releases': '2199-01-01T00:00:00Z',
      },
    };
    const got = await resolve(repo, 'v1', undefined, new Date('2150-01-01T00:00:00Z'));
    assert.equal(got.digest, `sha256:${D2}`);
  });
});
