/**
 * Building from a lockfile (`mobyts build --locked`): each image reference is replaced by the digest the lock
 * pinned (no tag is resolved), and the platform manifest the store then reads must be the locked one.
 */
import { readFile } from 'node:fs/promises';
import type { Digest } from '../oci/digest.ts';
import { withDigest, type Reference } from '../oci/reference.ts';
import { formatPlatform, platformFor } from '../store/platform.ts';
import { errnoDetail, MobyError } from '../util/errors.ts';
import { parseLock, type LockedImage, type Lockfile } from './lockfile.ts';

export type LoadedLock = Lockfile & { file: string };

export interface LockPin {
  /** `ref` pinned to the locked root digest (tag kept for display): what to ask the store for. */
  ref: Reference;
  /** The locked index (or single manifest) digest. */
  indexDigest: Digest;
  /** The locked manifest digest for the requested platform. */
  manifestDigest: Digest;
  trust: LockedImage['trust'];
  signedBy: string[];
}

/** `SPEC.lock` beside the last spec file (`moby.lock` for stdin or a URL): the file `build --locked` reads by default. */
export function defaultLockPath(files: readonly string[]): string {
  const last = files[files.length - 1];
  return last === undefined || last === '-' || /^https?:\/\//i.test(last) ? 'moby.lock' : `${last}.lock`;
}

/** Reads and checks a lockfile; throws a MobyError (LOCK, or IO when unreadable) naming the file. */
export async function readLock(file: string): Promise<LoadedLock> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? ': no such file' : errnoDetail(err);
    throw new MobyError(`Cannot read lockfile "${file}"${why}`, {
      code: 'LOCK',
      cause: err,
      hint: 'create it with `mobyts lock SPEC...`',
    });
  }
  return { ...parseLock(text, file), file };
}

function lockError(lock: Lockfile & { file?: string }, ref: Reference, detail: string): MobyError {
  const where = lock.file === undefined ? 'the lockfile' : `"${lock.file}"`;
  return new MobyError(`Cannot use locked image "${ref.expanded}" from ${where}: ${detail}`, {
    code: 'LOCK',
    hint: 'the spec and its lockfile differ: run `mobyts lock` again and review the diff',
  });
}

/**
 * LinuxKit's platform match for builds: OS and architecture, variant ignored (docs/linuxkit-behaviour.md#platforms);
 * the store's selectManifest prefers the exact default variant first, and so does pinFromLock. */
function matches(platform: string, architecture: string): boolean {
  const [os, arch] = platform.split('/');
  return os === 'linux' && arch === architecture;
}

/**
 * The locked manifest for `arch` (`amd64`, or a platform `linux/arm64`): the exact platform (default variant
 * included) first, else OS+arch.
 */
export function choosePlatform(platforms: LockedImage['platforms'] & object, arch: string): Digest | undefined {
  const want = platformFor(arch);
  const exact = formatPlatform(want);
  return (platforms.find((p) => p.platform === exact) ?? platforms.find((p) => matches(p.platform, want.architecture)))
    ?.digest;
}

/**
 * The pin for `ref` (an expanded spec reference) on `linux/<arch>`. Pure. Throws a MobyError (LOCK) when the
 * lock has no entry for `ref`, the spec's own digest differs from the lock's, or the lock has no such platform.
 */
export function pinFromLock(lock: Lockfile & { file?: string }, ref: Reference, arch: string): LockPin {
  const entry = lock.images[ref.expanded];
  if (entry === undefined) throw lockError(lock, ref, 'it is not in the lockfile');
  if (ref.digest !== undefined && ref.digest !== entry.digest) {
    throw lockError(lock, ref, `the spec pins ${ref.digest} but the lock has ${entry.digest}`);
  }
  const signedBy = entry.signedBy ?? [];
  if (entry.platforms === undefined) {
    return {
      ref: withDigest(ref, entry.digest),
      indexDigest: entry.digest,
      manifestDigest: entry.digest,
      trust: entry.trust,
      signedBy,
    };
  }
  const chosen = choosePlatform(entry.platforms, arch);
  if (chosen === undefined) {
    throw lockError(
      lock,
      ref,
      `the locked index ${entry.digest} has no ${formatPlatform(platformFor(arch))} manifest (have ${entry.platforms.map((p) => p.platform).join(', ')})`,
    );
  }
  return {
    ref: withDigest(ref, entry.digest),
    indexDigest: entry.digest,
    manifestDigest: chosen,
    trust: entry.trust,
    signedBy,
  };
}

/**
 * Checks that the image the store returned for `pin.ref` is the locked platform manifest; throws a MobyError
 * (LOCK) with both digests otherwise.
 */
export function checkLockedSource(pin: LockPin, source: { manifestDigest: Digest }): void {
  if (source.manifestDigest !== pin.manifestDigest) {
    throw new MobyError(
      `Cannot use locked image "${pin.ref.expanded}": the lock pins manifest ${pin.manifestDigest} but the store resolved ${source.manifestDigest}`,
      {
        code: 'LOCK',
        hint: 'run `mobyts lock` again and review the diff',
      },
    );
  }
}

/**
 * One line per locked image for `build --locked --dry-run`, sorted:
 * `docker.io/linuxkit/init:v1 → sha256:… (linux/amd64 sha256:…) trust=verified by targets/releases`. Pure;
 * an image without a manifest for `arch` says so instead of throwing.
 */
export function pinLines(lock: Lockfile, arch: string): string[] {
  const want = formatPlatform(platformFor(arch));
  return Object.keys(lock.images)
    .sort()
    .map((name) => {
      const entry = lock.images[name];
      if (entry === undefined) return name;
      const chosen = entry.platforms === undefined ? entry.digest : choosePlatform(entry.platforms, arch);
      const manifest = chosen === undefined ? `no ${want} manifest` : `${want} ${chosen}`;
      const trust = entry.trust === 'verified' ? `verified by ${(entry.signedBy ?? []).join(', ')}` : entry.trust;
      return `${name} → ${entry.digest} (${manifest}) trust=${trust}`;
    });
}
