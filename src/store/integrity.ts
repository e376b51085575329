/**
 * Damage detection for cached blobs before a build reads them. Every blob the store writes (hashed while
 * written) gets a stamp in `.mobyts/verified/`: its size, inode, and modification and change times in
 * nanoseconds. A blob whose stat still matches its stamp has not been written to, truncated or replaced since
 * it was verified (the change time cannot be set back from user space), so it is used without re-hashing; a
 * blob without a stamp (written by `linuxkit`, copied, restored) or whose stat differs is hashed again before
 * use and re-stamped when intact. Bit rot below the file system is caught at the latest by the digest check
 * at the end of every blob stream, and on demand by `mobyts cache verify`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestAlgorithm, digestHex, type Digest } from '../oci/digest.ts';
import type { Descriptor } from '../oci/types.ts';
import { MobyError } from '../util/errors.ts';
import { mapLimit } from '../util/map-limit.ts';

/** A cached blob that cannot be used as is. */
export interface Damage {
  digest: Digest;
  /** `it is missing`, `it has 12 bytes, expected 40`, `its content has digest sha256:…`. */
  problem: string;
}

function stampPath(cacheDir: string, d: Digest): string {
  return join(cacheDir, '.mobyts', 'verified', `${digestAlgorithm(d)}-${digestHex(d)}`);
}

function stampOf(st: { size: bigint; ino: bigint; mtimeNs: bigint; ctimeNs: bigint }): string {
  return `${st.size} ${st.ino} ${st.mtimeNs} ${st.ctimeNs}\n`;
}

/** Records that the blob file for `d` was verified as it is now. Best effort: a missing stamp only costs a re-hash. */
export async function stampVerified(cacheDir: string, blobPath: string, d: Digest): Promise<void> {
  try {
    await writeFile(stampPath(cacheDir, d), stampOf(await stat(blobPath, { bigint: true })));
  } catch {
    // a full disk or a read-only cache: the next use hashes the blob again
  }
}

/** Forgets the stamp of a removed blob. */
export async function removeStamp(cacheDir: string, d: Digest): Promise<void> {
  await rm(stampPath(cacheDir, d), { force: true });
}

async function hashFile(path: string, d: Digest): Promise<Digest> {
  const hash = createHash(digestAlgorithm(d));
  for await (const c of createReadStream(path)) hash.update(c as Buffer);
  return `${digestAlgorithm(d)}:${hash.digest('hex')}` as Digest;
}

/**
 * What is wrong with the cached blob `desc` describes, or undefined when it is intact: present, of the
 * descriptor's size, and either stamped as it is or re-hashed to its digest now (then stamped).
 */
export async function checkBlob(
  cacheDir: string,
  blobPath: string,
  desc: Pick<Descriptor, 'digest' | 'size'>,
): Promise<Damage | undefined> {
  // the stat and the stamp read are synchronous: small calls, made for every blob of every cached image a build
  // opens (store/layout.ts, "Small-file calls")
  let st;
  try {
    st = statSync(blobPath, { bigint: true });
  } catch {
    return { digest: desc.digest, problem: 'it is missing' };
  }
  if (st.size !== BigInt(desc.size))
    return { digest: desc.digest, problem: `it has ${st.size} bytes, expected ${desc.size}` };
  let stamp = '';
  try {
    stamp = readFileSync(stampPath(cacheDir, desc.digest), 'utf8');
  } catch {
    // no stamp (never verified, or removed): hashed below
  }
  if (stamp === stampOf(st)) return undefined;
  const got = await hashFile(blobPath, desc.digest);
  if (got !== desc.digest) return { digest: desc.digest, problem: `its content has digest ${got}` };
  await stampVerified(cacheDir, blobPath, desc.digest);
  return undefined;
}

/** The damaged ones among `descs` (each digest checked once). */
export async function checkBlobs(
  cacheDir: string,
  blobPath: (d: Digest) => string,
  descs: Array<Pick<Descriptor, 'digest' | 'size'>>,
): Promise<Damage[]> {
  const seen = new Set<Digest>();
  const unique = descs.filter((d) => !seen.has(d.digest) && seen.add(d.digest));
  // several at once: each is a stat and a stamp read, or a hash when the stamp is stale
  const damage = await mapLimit(unique, 4, (d) => checkBlob(cacheDir, blobPath(d.digest), d));
  return damage.filter((d) => d !== undefined);
}

/** The line a user sees when a damaged blob was replaced from the registry. */
export function repulledMessage(d: Damage): string {
  return `re-pulled ${d.digest}: the cached copy was damaged (${d.problem})`;
}

/**
 * The error for damaged cached blobs that could not be fetched again (offline, or the registry lost the
 * image); `cause` is why the fetch failed (the CLI prints it as a `caused by:` line).
 */
export function damagedError(refName: string, damage: Damage[], cause: unknown): MobyError {
  const list = damage.map((d) => `${d.digest} (${d.problem})`).join(', ');
  return new MobyError(
    `Cannot use the cached image "${refName}": blob ${list} ${damage.length === 1 ? 'is' : 'are'} damaged and fetching ${damage.length === 1 ? 'it' : 'them'} again failed`,
    {
      code: 'STORE',
      cause,
      hint: `when the registry is reachable the next build fetches it again; or run \`mobyts cache rm ${refName}\` and pull again, and \`mobyts cache verify\` to list every damaged blob`,
    },
  );
}
