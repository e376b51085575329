/**
 * Builds Notary-shaped TUF repositories in memory, signed with keys generated here (ecdsa P-256, ed25519,
 * rsa), served through an in-memory NotaryClient: the fault injector for the checks a real server will not
 * let us break (bad signatures, thresholds, rollbacks, tampered hashes).
 */
import { execFileSync } from 'node:child_process';
import { constants, createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { canonicalJson } from '../../src/trust/canonical-json.ts';
import { keyId, type TufKey } from '../../src/trust/keys.ts';
import type { NotaryClient } from '../../src/registry/notary.ts';

export type KeyType = 'ecdsa' | 'ed25519' | 'rsa';

export interface TestKey {
  id: string;
  tuf: TufKey;
  method: string;
  privateKey: KeyObject;
}

export function makeKey(type: KeyType = 'ecdsa'): TestKey {
  const pair =
    type === 'ecdsa'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : type === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = pair.publicKey.export({ format: 'der', type: 'spki' });
  const pub = type === 'ed25519' ? spki.subarray(spki.length - 32) : spki;
  const tuf: TufKey = { keytype: type, keyval: { private: null, public: Buffer.from(pub).toString('base64') } };
  return { id: keyId(tuf), tuf, method: type === 'rsa' ? 'rsapss' : type, privateKey: pair.privateKey };
}

/** An `ecdsa-x509` key as notary writes root keys: a P-256 key in a self-signed certificate valid `days` from now. */
export function makeX509Key(days: number): TestKey {
  const dir = mkdtempSync(path.join(tmpdir(), 'mobyts-x509-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'k.pem',
        '-out',
        'c.pem',
        '-days',
        String(days),
        '-subj',
        '/CN=test-x509',
      ],
      { cwd: dir, stdio: 'ignore' },
    );
    const tuf: TufKey = {
      keytype: 'ecdsa-x509',
      keyval: { private: null, public: readFileSync(path.join(dir, 'c.pem')).toString('base64') },
    };
    return {
      id: keyId(tuf),
      tuf,
      method: 'ecdsa',
      privateKey: createPrivateKey(readFileSync(path.join(dir, 'k.pem'))),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function signWith(key: TestKey, message: Buffer): string {
  if (key.method === 'ed25519') return sign(null, message, key.privateKey).toString('base64');
  if (key.method === 'rsapss') {
    return sign('sha256', message, {
      key: key.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    }).toString('base64');
  }
  return sign('sha256', message, { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64');
}

/** `{signed, signatures}` bytes, signed by `keys` over the canonical JSON of `signed`. */
export function signDoc(signed: object, keys: TestKey[]): Buffer {
  const message = Buffer.from(canonicalJson(signed));
  const signatures = keys.map((k) => ({ keyid: k.id, method: k.method, sig: signWith(k, message) }));
  return Buffer.from(JSON.stringify({ signed, signatures }));
}

export function fileMeta(bytes: Buffer): { length: number; hashes: Record<string, string> } {
  return {
    length: bytes.length,
    hashes: {
      sha256: createHash('sha256').update(bytes).digest('base64'),
      sha512: createHash('sha512').update(bytes).digest('base64'),
    },
  };
}

const FUTURE = '2099-01-01T00:00:00Z';

export interface RepoKeys {
  root: TestKey;
  targets: TestKey;
  snapshot: TestKey;
  timestamp: TestKey;
  releases?: TestKey;
}

export function makeKeys(type: KeyType = 'ecdsa'): RepoKeys {
  return { root: makeKey(type), targets: makeKey(type), snapshot: makeKey(type), timestamp: makeKey(type) };
}

export interface RepoOptions {
  keys: RepoKeys;
  /** tag → hex sha256 in `targets`. */
  targets?: Record<string, string>;
  /** tag → hex sha256 in `targets/releases` (needs keys.releases). */
  releases?: Record<string, string>;
  version?: number;
  expires?: Partial<Record<'root' | 'targets' | 'snapshot' | 'timestamp' | 'targets/releases', string>>;
  /** Hook to change a role's bytes after signing (tampering). */
  mutate?: (role: string, bytes: Buffer) => Buffer;
  /** Signers per role, overriding the role's own key. */
  signers?: Partial<Record<string, TestKey[]>>;
  thresholds?: Partial<Record<string, number>>;
}

function targetMap(tags: Record<string, string>): Record<string, { length: number; hashes: Record<string, string> }> {
  return Object.fromEntries(
    Object.entries(tags).map(([tag, hex]) => [
      tag,
      { length: 1234, hashes: { sha256: Buffer.from(hex, 'hex').toString('base64') } },
    ]),
  );
}

/** All role files of one repository state. */
export function buildRepo(o: RepoOptions): Map<string, Buffer> {
  const { keys } = o;
  const v = o.version ?? 1;
  const exp = (r: keyof NonNullable<RepoOptions['expires']>): string => o.expires?.[r] ?? FUTURE;
  const out = new Map<string, Buffer>();
  const put = (role: string, signed: object, signers: TestKey[]): Buffer => {
    const bytes = (o.mutate ?? ((_r, b) => b))(role, signDoc(signed, o.signers?.[role] ?? signers));
    out.set(role, bytes);
    return bytes;
  };
  const role = (name: string, k: TestKey): { keyids: string[]; threshold: number } => ({
    keyids: [k.id],
    threshold: o.thresholds?.[name] ?? 1,
  });
  const rootBytes = put(
    'root',
    {
      _type: 'Root',
      consistent_snapshot: false,
      expires: exp('root'),
      version: v,
      keys: Object.fromEntries([keys.root, keys.targets, keys.snapshot, keys.timestamp].map((k) => [k.id, k.tuf])),
      roles: {
        root: role('root', keys.root),
        targets: role('targets', keys.targets),
        snapshot: role('snapshot', keys.snapshot),
        timestamp: role('timestamp', keys.timestamp),
      },
    },
    [keys.root],
  );
  const delegations =
    keys.releases === undefined
      ? { keys: {}, roles: [] }
      : {
          keys: { [keys.releases.id]: keys.releases.tuf },
          roles: [{ name: 'targets/releases', keyids: [keys.releases.id], threshold: 1, paths: [''] }],
        };
  const targetsBytes = put(
    'targets',
    { _type: 'Targets', delegations, expires: exp('targets'), targets: targetMap(o.targets ?? {}), version: v },
    [keys.targets],
  );
  const meta: Record<string, object> = { root: fileMeta(rootBytes), targets: fileMeta(targetsBytes) };
  if (keys.releases !== undefined) {
    meta['targets/releases'] = fileMeta(
      put(
        'targets/releases',
        { _type: 'Targets', expires: exp('targets/releases'), targets: targetMap(o.releases ?? {}), version: v },
        [keys.releases],
      ),
    );
  }
  const snapshotBytes = put('snapshot', { _type: 'Snapshot', expires: exp('snapshot'), meta, version: v }, [
    keys.snapshot,
  ]);
  put(
    'timestamp',
    { _type: 'Timestamp', expires: exp('timestamp'), meta: { snapshot: fileMeta(snapshotBytes) }, version: v },
    [keys.timestamp],
  );
  return out;
}

/** An in-memory NotaryClient serving `files` (swap `files` to change what it serves). */
export function memoryClient(state: { files: Map<string, Buffer> }): NotaryClient {
  return {
    server: 'memory://notary',
    fetchRole: (_gun, role) => Promise.resolve(state.files.get(role)),
    close: () => Promise.resolve(),
  };
}
