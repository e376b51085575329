/**
 * TUF metadata as Notary v1 serves it (`/v2/<GUN>/_trust/tuf/<role>.json`; notary `tuf/data/*.go`): the
 * shapes, and a parser that turns untrusted bytes into them or says what is malformed. Nothing here checks
 * signatures, expiry or versions — `tuf.ts` does.
 */
import { MobyError } from '../util/errors.ts';
import type { Signature, TufKey } from './keys.ts';

export interface RoleKeys {
  keyids: string[];
  threshold: number;
}

export interface FileMeta {
  length: number;
  hashes: Record<string, string>;
}

interface Common {
  _type: string;
  version: number;
  expires: string;
}

export interface RootSigned extends Common {
  keys: Record<string, TufKey>;
  roles: Record<string, RoleKeys>;
}

export interface DelegatedRole extends RoleKeys {
  name: string;
  paths?: string[];
  path_hash_prefixes?: string[];
}

export interface TargetsSigned extends Common {
  targets: Record<string, FileMeta>;
  delegations?: { keys: Record<string, TufKey>; roles: DelegatedRole[] };
}

export interface SnapshotSigned extends Common {
  meta: Record<string, FileMeta>;
}

export type TimestampSigned = SnapshotSigned;

export interface SignedDocument<T> {
  /** The role this document is for: `root`, `targets`, `targets/releases`, `snapshot`, `timestamp`. */
  role: string;
  signed: T;
  /** The parsed `signed` value exactly as received, which is what the signatures cover (canonicalised). */
  rawSigned: unknown;
  signatures: Signature[];
  /** The bytes as served (hashed against snapshot/timestamp meta). */
  bytes: Uint8Array;
}

export type RoleType = 'Root' | 'Targets' | 'Snapshot' | 'Timestamp';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function malformed(gun: string, role: string, why: string, cause?: unknown): MobyError {
  return new MobyError(`Cannot read trust data "${role}.json" of "${gun}": ${why}`, {
    code: 'TRUST',
    ...(cause === undefined ? {} : { cause }),
  });
}

function checkKeys(keys: unknown): boolean {
  return (
    isObj(keys) &&
    Object.values(keys).every(
      (k) =>
        isObj(k) && typeof k['keytype'] === 'string' && isObj(k['keyval']) && typeof k['keyval']['public'] === 'string',
    )
  );
}

function checkRoleKeys(r: unknown): boolean {
  return (
    isObj(r) &&
    Array.isArray(r['keyids']) &&
    r['keyids'].every((k) => typeof k === 'string') &&
    Number.isSafeInteger(r['threshold']) &&
    (r['threshold'] as number) >= 1
  );
}

function checkFileMeta(m: unknown): boolean {
  return (
    isObj(m) &&
    Number.isSafeInteger(m['length']) &&
    isObj(m['hashes']) &&
    Object.values(m['hashes']).every((h) => typeof h === 'string')
  );
}

function checkMetaMap(m: unknown): boolean {
  return isObj(m) && Object.values(m).every(checkFileMeta);
}

function checkDelegations(d: unknown): boolean {
  if (d === undefined) return true;
  return (
    isObj(d) &&
    checkKeys(d['keys']) &&
    Array.isArray(d['roles']) &&
    d['roles'].every(
      (r) =>
        checkRoleKeys(r) &&
        isObj(r) &&
        typeof r['name'] === 'string' &&
        (r['paths'] === undefined || (Array.isArray(r['paths']) && r['paths'].every((p) => typeof p === 'string'))),
    )
  );
}

/** What is wrong with `signed` for its type, or undefined when it has every field we rely on. */
function shapeProblem(type: RoleType, s: Obj): string | undefined {
  if (s['_type'] !== type) return `"_type" is ${JSON.stringify(s['_type'])}, expected "${type}"`;
  if (!Number.isSafeInteger(s['version'])) return '"version" is not an integer';
  if (typeof s['expires'] !== 'string' || Number.isNaN(Date.parse(s['expires']))) return '"expires" is not a date';
  switch (type) {
    case 'Root':
      return checkKeys(s['keys']) && isObj(s['roles']) && Object.values(s['roles']).every(checkRoleKeys)
        ? undefined
        : 'bad "keys" or "roles"';
    case 'Targets':
      return checkMetaMap(s['targets']) && checkDelegations(s['delegations'])
        ? undefined
        : 'bad "targets" or "delegations"';
    default:
      return checkMetaMap(s['meta']) ? undefined : 'bad "meta"';
  }
}

function checkSignatures(v: unknown): v is Signature[] {
  return (
    Array.isArray(v) &&
    v.every(
      (s) =>
        isObj(s) && typeof s['keyid'] === 'string' && typeof s['method'] === 'string' && typeof s['sig'] === 'string',
    )
  );
}

/** Parses one role's JSON; throws a MobyError (TRUST) naming the GUN, the role and the malformed part. */
export function parseSignedDocument<T>(
  bytes: Uint8Array,
  opts: { gun: string; role: string; type: RoleType },
): SignedDocument<T> {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw malformed(opts.gun, opts.role, 'not JSON', err);
  }
  if (!isObj(doc) || !isObj(doc['signed'])) throw malformed(opts.gun, opts.role, 'no "signed" object');
  if (!checkSignatures(doc['signatures'])) throw malformed(opts.gun, opts.role, 'bad "signatures"');
  const problem = shapeProblem(opts.type, doc['signed']);
  if (problem !== undefined) throw malformed(opts.gun, opts.role, problem);
  return {
    role: opts.role,
    signed: doc['signed'] as T,
    rawSigned: doc['signed'],
    signatures: doc['signatures'],
    bytes,
  };
}
