/**
 * The TUF checks Notary v1 clients make (TUF spec §5 "Detailed client workflow", notary `tuf/signed` and
 * `trustpinning`), as pure functions over parsed metadata: signature thresholds over canonical JSON, expiry,
 * version rollback, hashes and lengths from snapshot/timestamp, the pinned root, delegation paths.
 * Every failure is a MobyError (TRUST) that names the image, the role, what was expected and what was found.
 */
import { createHash } from 'node:crypto';
import { MobyError } from '../util/errors.ts';
import { canonicalJson } from './canonical-json.ts';
import { keyId, loadKey, verifySignature, type TufKey } from './keys.ts';
import type { DelegatedRole, FileMeta, RoleKeys, RootSigned, SignedDocument } from './metadata.ts';

export interface CheckContext {
  /** The image being verified, as the user will recognise it: `docker.io/linuxkit/kernel:6.6.71`. */
  subject: string;
  gun: string;
  now: Date;
}

/** The Docker Content Trust error for `ctx.subject`. */
export function trustError(ctx: CheckContext, detail: string, hint?: string, cause?: unknown): MobyError {
  return new MobyError(`Cannot verify "${ctx.subject}" with Docker Content Trust: ${detail}`, {
    code: 'TRUST',
    ...(hint === undefined ? {} : { hint }),
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Key IDs in `role.keyids` whose signature over `doc` verifies; throws unless at least `role.threshold`
 * distinct keys signed. A key whose ID does not match its content is ignored (notary does the same).
 */
export function verifyThreshold(
  doc: SignedDocument<unknown>,
  keys: Record<string, TufKey>,
  role: RoleKeys,
  ctx: CheckContext,
): string[] {
  const message = Buffer.from(canonicalJson(doc.rawSigned), 'utf8');
  const valid = new Set<string>();
  const problems: string[] = [];
  const causes: unknown[] = [];
  for (const sig of doc.signatures) {
    const key = keys[sig.keyid];
    if (!role.keyids.includes(sig.keyid) || key === undefined || valid.has(sig.keyid)) continue;
    if (keyId(key) !== sig.keyid) {
      problems.push(`key ${short(sig.keyid)} does not match its ID`);
      continue;
    }
    const loaded = loadKey(key, doc.role === 'root' ? ctx.now : undefined);
    if (!loaded.ok) {
      problems.push(`key ${short(sig.keyid)}: ${loaded.reason}`);
      if (loaded.cause !== undefined) causes.push(loaded.cause);
      continue;
    }
    if (verifySignature(loaded, sig, message)) valid.add(sig.keyid);
    else problems.push(`bad ${sig.method} signature by key ${short(sig.keyid)}`);
  }
  if (valid.size >= role.threshold) return [...valid];
  const detail = problems.length > 0 ? ` (${problems.join('; ')})` : '';
  // the errors behind unreadable keys stay attached (one, or all of them) for the renderer's `caused by:` lines
  const cause = causes.length > 1 ? new AggregateError(causes, '') : causes[0];
  throw trustError(
    ctx,
    `${doc.role} metadata has ${valid.size} valid signature(s) from its ${role.keyids.length} key(s), ` +
      `${role.threshold} required${detail}`,
    undefined,
    cause,
  );
}

export function short(id: string): string {
  return id.slice(0, 12);
}

/** Refuses metadata whose `expires` is not after `ctx.now`. */
export function checkExpiry(doc: SignedDocument<{ expires: string }>, ctx: CheckContext): void {
  const expires = new Date(doc.signed.expires);
  if (expires.getTime() <= ctx.now.getTime()) {
    throw trustError(
      ctx,
      `${doc.role} metadata expired at ${expires.toISOString()} (now ${ctx.now.toISOString()})`,
      'the publisher (or the Notary server, for timestamp) must re-sign it; a stale server may be replaying old data',
    );
  }
}

/** Refuses metadata older than the version this client has already seen (a rollback). */
export function checkVersion(
  doc: SignedDocument<{ version: number }>,
  seen: number | undefined,
  ctx: CheckContext,
): void {
  if (seen !== undefined && doc.signed.version < seen) {
    throw trustError(
      ctx,
      `${doc.role} metadata version ${doc.signed.version} is older than version ${seen} already seen (rollback)`,
      'the Notary server is serving old metadata; if that is intended, reset the trust data with `mobyts trust reset`',
    );
  }
}

/** Checks served bytes against the length and every sha256/sha512 hash its parent metadata lists. */
export function checkFileMeta(
  doc: SignedDocument<unknown>,
  meta: FileMeta | undefined,
  parent: string,
  ctx: CheckContext,
): void {
  if (meta === undefined) throw trustError(ctx, `${parent} metadata does not list ${doc.role}`);
  if (doc.bytes.length !== meta.length) {
    throw trustError(ctx, `${doc.role} metadata is ${doc.bytes.length} bytes, ${parent} expects ${meta.length}`);
  }
  let checked = 0;
  for (const [algorithm, expected] of Object.entries(meta.hashes)) {
    if (algorithm !== 'sha256' && algorithm !== 'sha512') continue;
    const found = createHash(algorithm).update(doc.bytes).digest('base64');
    if (found !== expected)
      throw trustError(ctx, `${doc.role} metadata ${algorithm} is ${found}, ${parent} expects ${expected}`);
    checked++;
  }
  if (checked === 0) throw trustError(ctx, `${parent} lists no sha256/sha512 hash for ${doc.role}`);
}

/**
 * Fingerprints of the root role's public keys, sorted: sha256 of each key's SPKI DER, so a root certificate
 * re-issued for the same key (notary renews them) keeps its fingerprint while a new key does not.
 */
export function rootFingerprints(root: RootSigned): string[] {
  const ids = root.roles['root']?.keyids ?? [];
  return ids
    .map((id) => {
      const key = root.keys[id];
      const loaded = key === undefined ? undefined : loadKey(key);
      if (loaded?.ok !== true) return `unusable:${id}`;
      return createHash('sha256')
        .update(loaded.key.export({ format: 'der', type: 'spki' }))
        .digest('hex');
    })
    .sort();
}

/**
 * Verifies the served root against the pinned one (trust on first use when there is none): the same root
 * public keys, signed by a threshold of them, not older, not expired. Returns the root to trust.
 */
export function verifyRoot(
  served: SignedDocument<RootSigned>,
  pinned: SignedDocument<RootSigned> | undefined,
  ctx: CheckContext,
): RootSigned {
  const role = served.signed.roles['root'];
  if (role === undefined) throw trustError(ctx, 'root metadata has no root role');
  for (const name of ['targets', 'snapshot', 'timestamp']) {
    if (served.signed.roles[name] === undefined) throw trustError(ctx, `root metadata has no ${name} role`);
  }
  if (pinned !== undefined) {
    const expected = rootFingerprints(pinned.signed);
    const found = rootFingerprints(served.signed);
    if (expected.join() !== found.join()) {
      throw trustError(
        ctx,
        `the root key changed: pinned root key ${expected.map(short).join(', ')}, server has ${found.map(short).join(', ')}`,
        `if the publisher really replaced its root key, run \`mobyts trust reset ${ctx.gun}\` and try again`,
      );
    }
    checkVersion(served, pinned.signed.version, ctx);
  }
  const threshold = Math.max(role.threshold, pinned?.signed.roles['root']?.threshold ?? 0);
  verifyThreshold(served, served.signed.keys, { keyids: role.keyids, threshold }, ctx);
  checkExpiry(served, ctx);
  return served.signed;
}

/** Whether a delegation may sign `target`: a `paths` prefix or a `path_hash_prefixes` hex prefix matches. */
export function delegationAdmits(role: DelegatedRole, target: string): boolean {
  if (role.paths?.some((p) => target.startsWith(p)) === true) return true;
  const hash = createHash('sha256').update(target).digest('hex');
  return role.path_hash_prefixes?.some((p) => hash.startsWith(p)) === true;
}
