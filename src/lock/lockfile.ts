/**
 * The lockfile (`SPEC.lock`): every image a spec names, pinned to the digest its tag resolved to (the index,
 * or the single manifest) and to each platform's manifest digest, with how content trust treated it. JSON
 * with sorted keys, two-space indent and a trailing newline, so it diffs well and rewrites byte-identically.
 */
import { isDigest, type Digest } from '../oci/digest.ts';
import { MobyError } from '../util/errors.ts';

export const LOCKFILE_VERSION = 1;

export interface LockedPlatform {
  /** `os/architecture[/variant]`, e.g. `linux/arm64/v8`. */
  platform: string;
  digest: Digest;
}

export interface LockedImage {
  /** What the tag resolved to: an index (or manifest list) digest, or a single manifest's. */
  digest: Digest;
  mediaType: string;
  /** For an index: its image manifests in index order (attestations left out). Absent for a single manifest. */
  platforms?: LockedPlatform[];
  /**
   * `verified` (Notary-signed tag), `digest` (in trust: but referenced by digest only: content-addressed, no
   * tag to look up), `disabled` (in trust: but --disable-content-trust), `none` (not in trust:).
   */
  trust: 'verified' | 'digest' | 'disabled' | 'none';
  /** Docker's signers: the role that signed the tag, when verified. */
  signedBy?: string[];
}

export interface Lockfile {
  lockfileVersion: number;
  /** Keyed by the expanded reference as the spec wrote it (tag and/or digest). */
  images: Record<string, LockedImage>;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, sortKeys(v)]));
}

/** The lockfile's exact bytes: sorted keys, 2-space indent, trailing newline. Pure. */
export function serialiseLock(lock: Lockfile): string {
  return `${JSON.stringify(sortKeys(lock), null, 2)}\n`;
}

function bad(file: string, why: string, cause?: unknown): MobyError {
  return new MobyError(`Cannot read lockfile "${file}": ${why}`, {
    code: 'LOCK',
    hint: 'regenerate it with `mobyts lock SPEC...`',
    ...(cause === undefined ? {} : { cause }),
  });
}

const TRUST_VALUES: readonly LockedImage['trust'][] = ['verified', 'digest', 'disabled', 'none'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkImage(file: string, name: string, v: unknown): LockedImage {
  if (!isObj(v)) throw bad(file, `images["${name}"] is not an object`);
  if (typeof v['digest'] !== 'string' || !isDigest(v['digest']))
    throw bad(file, `images["${name}"].digest is not a digest`);
  if (typeof v['mediaType'] !== 'string') throw bad(file, `images["${name}"].mediaType is not a string`);
  if (!TRUST_VALUES.includes(v['trust'] as LockedImage['trust']))
    throw bad(file, `images["${name}"].trust is not one of ${TRUST_VALUES.join(', ')}`);
  const platforms = v['platforms'];
  if (
    platforms !== undefined &&
    !(
      Array.isArray(platforms) &&
      platforms.every(
        (p) =>
          isObj(p) && typeof p['platform'] === 'string' && typeof p['digest'] === 'string' && isDigest(p['digest']),
      )
    )
  ) {
    throw bad(file, `images["${name}"].platforms is not a list of {platform, digest}`);
  }
  return v as unknown as LockedImage;
}

/** Parses and checks lockfile text; throws a MobyError (LOCK) naming `file` and the bad field. Pure. */
export function parseLock(text: string, file: string): Lockfile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw bad(file, 'not JSON', err);
  }
  if (!isObj(doc) || !isObj(doc['images'])) throw bad(file, 'no "images" object');
  if (doc['lockfileVersion'] !== LOCKFILE_VERSION)
    throw bad(
      file,
      `lockfileVersion is ${JSON.stringify(doc['lockfileVersion'])}, this mobyts reads ${LOCKFILE_VERSION}`,
    );
  const images: Record<string, LockedImage> = {};
  for (const [name, v] of Object.entries(doc['images'])) images[name] = checkImage(file, name, v);
  return { lockfileVersion: LOCKFILE_VERSION, images };
}
