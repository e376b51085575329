/**
 * Resolves a tag to its signed digest through a Notary server, following the TUF client workflow:
 * root (pinned on first use) → timestamp → snapshot → targets → `targets/releases`, each signed by a
 * threshold of its role's keys, unexpired, not rolled back, and matching the hashes its parent lists.
 * Docker's lookup order: a tag signed in `targets/releases` wins over one in `targets` (docker/cli
 * `trust.GetSignableRoles`/`getTrustedPullTargets`). On success the root and versions seen are pinned.
 */
import type { NotaryClient } from '../registry/notary.ts';
import { parseDigest, type Digest } from '../oci/digest.ts';
import {
  parseSignedDocument,
  type FileMeta,
  type RoleType,
  type RootSigned,
  type SignedDocument,
  type SnapshotSigned,
  type TargetsSigned,
  type TimestampSigned,
} from './metadata.ts';
import { readPinned, writePinned } from './pin-store.ts';
import {
  checkExpiry,
  checkFileMeta,
  checkVersion,
  delegationAdmits,
  trustError,
  verifyRoot,
  verifyThreshold,
  type CheckContext,
} from './tuf.ts';

export const RELEASES_ROLE = 'targets/releases';

export interface SignedTarget {
  digest: Digest;
  /** Size in bytes of the signed manifest. */
  length: number;
  /** The role whose metadata lists the tag: `targets/releases` or `targets`. */
  role: string;
  /** Key IDs whose signatures on that role verified. */
  keyIds: string[];
}

export interface ResolveSignedOptions {
  client: NotaryClient;
  trustDir: string;
  ctx: CheckContext;
}

async function fetchDoc<T>(
  opts: ResolveSignedOptions,
  role: string,
  type: RoleType,
): Promise<SignedDocument<T> | undefined> {
  const bytes = await opts.client.fetchRole(opts.ctx.gun, role);
  return bytes === undefined ? undefined : parseSignedDocument<T>(bytes, { gun: opts.ctx.gun, role, type });
}

async function mustFetch<T>(opts: ResolveSignedOptions, role: string, type: RoleType): Promise<SignedDocument<T>> {
  const doc = await fetchDoc<T>(opts, role, type);
  if (doc === undefined)
    throw trustError(opts.ctx, `the Notary server ${opts.client.server} has no ${role} metadata for "${opts.ctx.gun}"`);
  return doc;
}

interface Chain {
  root: RootSigned;
  rootDoc: SignedDocument<RootSigned>;
  snapshot: SnapshotSigned;
  versions: Record<string, number>;
}

async function verifyChain(opts: ResolveSignedOptions): Promise<Chain> {
  const { ctx } = opts;
  const pinned = await readPinned(opts.trustDir, ctx.gun);
  const rootDoc = await fetchDoc<RootSigned>(opts, 'root', 'Root');
  if (rootDoc === undefined) {
    throw trustError(
      ctx,
      `"${ctx.gun}" has no trust data on ${opts.client.server} (the repository is not signed)`,
      'sign the tag (docker trust sign / notary publish), or remove the image from trust: in the spec',
    );
  }
  const pinnedRoot =
    pinned.root === undefined
      ? undefined
      : parseSignedDocument<RootSigned>(pinned.root, { gun: ctx.gun, role: 'root', type: 'Root' });
  const root = verifyRoot(rootDoc, pinnedRoot, ctx);
  const versions = { ...pinned.versions, root: Math.max(root.version, pinned.versions['root'] ?? 0) };
  const timestamp = await mustFetch<TimestampSigned>(opts, 'timestamp', 'Timestamp');
  verifyRole(timestamp, root, versions, ctx);
  const snapshot = await mustFetch<SnapshotSigned>(opts, 'snapshot', 'Snapshot');
  checkFileMeta(snapshot, timestamp.signed.meta['snapshot'], 'timestamp', ctx);
  verifyRole(snapshot, root, versions, ctx);
  const rootMeta = snapshot.signed.meta['root'];
  if (rootMeta !== undefined) checkFileMeta(rootDoc, rootMeta, 'snapshot', ctx);
  return { root, rootDoc, snapshot: snapshot.signed, versions };
}

/** Threshold, expiry and rollback for a top-level role; records its version. */
function verifyRole(
  doc: SignedDocument<{ version: number; expires: string }>,
  root: RootSigned,
  versions: Record<string, number>,
  ctx: CheckContext,
): string[] {
  const role = root.roles[doc.role];
  if (role === undefined) throw trustError(ctx, `root metadata has no ${doc.role} role`);
  const keyIds = verifyThreshold(doc, root.keys, role, ctx);
  checkExpiry(doc, ctx);
  checkVersion(doc, versions[doc.role], ctx);
  versions[doc.role] = doc.signed.version;
  return keyIds;
}

function targetOf(targets: TargetsSigned, tag: string, role: string, keyIds: string[]): SignedTarget | undefined {
  const meta: FileMeta | undefined = targets.targets[tag];
  const b64 = meta?.hashes['sha256'];
  if (meta === undefined || b64 === undefined) return undefined;
  return {
    digest: parseDigest(`sha256:${Buffer.from(b64, 'base64').toString('hex')}`),
    length: meta.length,
    role,
    keyIds,
  };
}

async function releasesTarget(
  opts: ResolveSignedOptions,
  chain: Chain,
  targets: TargetsSigned,
  tag: string,
): Promise<SignedTarget | undefined> {
  const delegation = targets.delegations?.roles.find((r) => r.name === RELEASES_ROLE);
  if (delegation === undefined || !delegationAdmits(delegation, tag)) return undefined;
  const doc = await fetchDoc<TargetsSigned>(opts, RELEASES_ROLE, 'Targets');
  if (doc === undefined) return undefined;
  checkFileMeta(doc, chain.snapshot.meta[RELEASES_ROLE], 'snapshot', opts.ctx);
  const keyIds = verifyThreshold(doc, targets.delegations?.keys ?? {}, delegation, opts.ctx);
  checkExpiry(doc, opts.ctx);
  checkVersion(doc, chain.versions[RELEASES_ROLE], opts.ctx);
  chain.versions[RELEASES_ROLE] = doc.signed.version;
  return targetOf(doc.signed, tag, RELEASES_ROLE, keyIds);
}

/**
 * The digest `tag` is signed to in `ctx.gun`. Throws (TRUST) when the repository or the tag is unsigned, or
 * on any failed check; pins root and versions only after every check passed.
 */
export async function resolveSignedTarget(tag: string, opts: ResolveSignedOptions): Promise<SignedTarget> {
  const chain = await verifyChain(opts);
  const targetsDoc = await mustFetch<TargetsSigned>(opts, 'targets', 'Targets');
  checkFileMeta(targetsDoc, chain.snapshot.meta['targets'], 'snapshot', opts.ctx);
  const keyIds = verifyRole(targetsDoc, chain.root, chain.versions, opts.ctx);
  const found =
    (await releasesTarget(opts, chain, targetsDoc.signed, tag)) ?? targetOf(targetsDoc.signed, tag, 'targets', keyIds);
  await writePinned(opts.trustDir, opts.ctx.gun, { root: chain.rootDoc.bytes, versions: chain.versions });
  if (found === undefined) {
    throw trustError(
      opts.ctx,
      `the tag "${tag}" is not signed in "${opts.ctx.gun}" (no such target in ${RELEASES_ROLE} or targets)`,
      'sign the tag, use a signed tag, or remove the image from trust: in the spec',
    );
  }
  return found;
}
