/**
 * Platform selection (docs/linuxkit-behaviour.md#platforms): `--arch` names a Go architecture; an index's first
 * manifest whose OS and architecture match wins, the variant only breaking ties (`arm64` matches `arm64/v8` and plain
 * `arm64`). Attestation manifests (`unknown/unknown`) are never selected.
 */
import { MobyError } from '../util/errors.ts';
import type { Descriptor, Platform } from '../oci/types.ts';

const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  x64: 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  i386: '386',
  i686: '386',
};
const DEFAULT_VARIANT: Record<string, string> = { arm64: 'v8', amd64: 'v1' };

/** The Platform `--arch` asks for: `amd64`, `arm64`, `arm64/v8`, `linux/arm/v7`, `x86_64`, `aarch64`, … */
export function platformFor(arch: string): Platform {
  const parts = arch
    .trim()
    .toLowerCase()
    .split('/')
    .filter((p) => p !== '');
  if (parts[0] === 'linux') parts.shift();
  const architecture = ARCH_ALIASES[parts[0] ?? ''] ?? parts[0];
  if (architecture === undefined || architecture === '' || parts.length > 2) {
    throw new MobyError(
      `Invalid architecture "${arch}": expected a Go architecture name such as amd64, arm64, riscv64 or s390x`,
      { code: 'USAGE', exitCode: 2 },
    );
  }
  const variant = parts[1];
  return { os: 'linux', architecture, ...(variant === undefined ? {} : { variant }) };
}

/** `linux/arm64`, `linux/arm/v7`. */
export function formatPlatform(p: Platform | undefined): string {
  if (p === undefined) return 'unknown';
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== '').join('/');
}

function normalVariant(p: Platform): string | undefined {
  return p.variant ?? DEFAULT_VARIANT[p.architecture];
}

/** OS and architecture equal (after aliasing); variants compared only when both sides name one. */
export function platformMatches(have: Platform | undefined, want: Platform): boolean {
  if (have === undefined) return false;
  const arch = ARCH_ALIASES[have.architecture] ?? have.architecture;
  if (have.os !== want.os || arch !== want.architecture) return false;
  return (
    want.variant === undefined ||
    have.variant === undefined ||
    normalVariant({ ...have, architecture: arch }) === normalVariant(want)
  );
}

/** True for BuildKit attestation manifests (platform unknown/unknown or the reference-type annotation). */
export function isAttestation(d: Descriptor): boolean {
  return (
    d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
    (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown')
  );
}

/**
 * The index entry for `want`: exact variant match first, else the first OS+arch match. Throws PLATFORM with
 * `subject for linux/arm64: no manifest for that platform (have linux/amd64, linux/386)`.
 */
export function selectManifest(manifests: Descriptor[], want: Platform, subject: string): Descriptor {
  const candidates = manifests.filter((d) => !isAttestation(d) && platformMatches(d.platform, want));
  const exact = candidates.find((d) => d.platform !== undefined && normalVariant(d.platform) === normalVariant(want));
  const chosen = exact ?? candidates[0];
  if (chosen !== undefined) return chosen;
  const have = [...new Set(manifests.filter((d) => !isAttestation(d)).map((d) => formatPlatform(d.platform)))];
  throw new MobyError(
    `${subject} for ${formatPlatform(want)}: no manifest for that platform (have ${have.length === 0 ? 'none' : have.join(', ')})`,
    {
      code: 'PLATFORM',
      hint: 'pick another --arch, or use an image built for this platform',
    },
  );
}
