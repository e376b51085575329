/**
 * Docker Content Trust for the images a spec's `trust:` section names (moby/tool `enforceContentTrust` and
 * `ContentTrust`, docs/linuxkit-behaviour.md#trust): which images it covers, and the check itself — the tag resolved to
 * a digest through Notary, then compared with what the registry serves for that tag.
 */
import { manifestSelector, referenceName, parseReference, type Reference } from '../oci/reference.ts';
import type { RegistryOptions } from '../store/types.ts';
import type { Digest } from '../oci/digest.ts';
import type { TrustSpec } from '../spec/types.ts';
import { openNotaryClient, notaryServerFor } from '../registry/notary.ts';
import type { Reporter } from '../util/reporter.ts';
import { defaultTrustDir } from './pin-store.ts';
import { resolveSignedTarget } from './notary-resolve.ts';
import { trustError, short } from './tuf.ts';

function expandEntry(entry: string): string | undefined {
  try {
    return parseReference(entry).expanded;
  } catch {
    return undefined;
  }
}

function withoutDigest(ref: Reference): string {
  return ref.expanded.split('@')[0] ?? ref.expanded;
}

/** The organisation moby/tool matched `trust.org` against: `library` for Docker Hub single names. */
function orgOf(ref: Reference): string | undefined {
  const parts = ref.repository.split('/');
  return parts.length > 1 ? parts[0] : ref.registry === 'docker.io' ? 'library' : undefined;
}

/**
 * Whether `trust` covers `ref`. `trust.image` entries match after expansion on the full name, the name
 * without tag, or the name without digest; `trust.org` entries match the repository's first component
 * (`library` for single Docker Hub names), or `registry/org` for other registries. Pure.
 */
export function isTrusted(ref: Reference, trust: TrustSpec | undefined): boolean {
  if (trust === undefined) return false;
  const forms = new Set([ref.expanded, referenceName(ref), withoutDigest(ref)]);
  if (
    (trust.image ?? []).some((entry) => {
      const e = expandEntry(entry);
      return e !== undefined && forms.has(e);
    })
  )
    return true;
  const org = orgOf(ref);
  return (trust.org ?? []).some((entry) =>
    entry.includes('/')
      ? org !== undefined && entry.replace(/\/+$/, '') === `${ref.registry}/${org}`
      : org !== undefined && entry === org && (ref.registry === 'docker.io' || ref.repository.includes('/')),
  );
}

export interface VerifyTrustedOptions {
  /**
   * What the registry serves for `ref`'s tag right now (a manifest HEAD/GET); used to catch re-pushed tags.
   * Default: a registry client with `registry` options.
   */
  registryDigest?: (ref: Reference) => Promise<Digest>;
  /** Registry options for the default `registryDigest` (mirrors, insecure hosts, CA file). */
  registry?: RegistryOptions;
  /** Notary server; default `$DOCKER_CONTENT_TRUST_SERVER`, Docker Hub's for docker.io, else `https://<registry>`. */
  trustServer?: string;
  /** Extra CA bundle (PEM) for the Notary server's TLS, as `--cert-file`; default `registry.caFile`. */
  caFile?: string;
  /** Where roots are pinned; default `$MOBYTS_TRUST_DIR` or `~/.mobyts/trust`. */
  trustDir?: string;
  /** The clock expiry is checked against; default now. */
  now?: Date;
  /** Receives what trust decided (required: nothing is reported into nothing). */
  reporter: Reporter;
  signal?: AbortSignal;
}

export interface TrustResult {
  digest: Digest;
  /** The role(s) whose signature covers the tag, Docker's "signers": `targets/releases` or `targets`. */
  signedBy: string[];
  /** Key IDs of the valid signatures on that role. */
  keyIds: string[];
}

async function servedDigest(ref: Reference, opts: VerifyTrustedOptions): Promise<Digest> {
  if (opts.registryDigest !== undefined) return opts.registryDigest(ref);
  // loaded here, not at the top: a build without `trust:` images never opens a registry client for trust
  const { createRegistryClient, pullContext } = await import('../registry/client.ts');
  const client = createRegistryClient({
    registry: opts.registry ?? { mirrors: [], insecureRegistries: [] },
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  try {
    return (await client.resolve(pullContext(ref), manifestSelector(ref))).digest;
  } finally {
    await client.close();
  }
}

/** The tag Notary is asked about: the reference's tag, else `latest` (as `docker pull` with trust). */
function tagOf(ref: Reference): string {
  return ref.tag ?? 'latest';
}

/**
 * Resolves `ref`'s tag to its signed digest through Notary and checks the registry serves exactly that digest
 * for the tag (and, when `ref` also pins a digest, that it is the signed one). Throws a MobyError (TRUST)
 * naming the image, the tag, the expected and the found digest; writes nothing but the trust pins.
 * A digest-only reference has no tag to verify: it is returned as is (content addressing already pins it).
 */
export async function verifyTrusted(ref: Reference, opts: VerifyTrustedOptions): Promise<TrustResult> {
  const reporter = opts.reporter;
  if (ref.tag === undefined && ref.digest !== undefined) {
    reporter.emit({ type: 'info', message: `content trust: "${ref.expanded}" is pinned by digest; no tag to verify` });
    return { digest: ref.digest, signedBy: [], keyIds: [] };
  }
  const tag = tagOf(ref);
  const gun = referenceName(ref);
  const ctx = {
    subject: ref.tag === undefined ? `${ref.expanded}:${tag}` : ref.expanded,
    gun,
    now: opts.now ?? new Date(),
  };
  const client = await openNotaryClient({
    server: notaryServerFor(ref.registry, opts.trustServer),
    ...((opts.caFile ?? opts.registry?.caFile) === undefined ? {} : { caFile: opts.caFile ?? opts.registry?.caFile }),
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  try {
    const target = await resolveSignedTarget(tag, { client, trustDir: opts.trustDir ?? defaultTrustDir(), ctx });
    if (ref.digest !== undefined && ref.digest !== target.digest) {
      throw trustError(ctx, `the spec pins ${ref.digest} but the tag "${tag}" is signed for ${target.digest}`);
    }
    const served = await servedDigest(
      ref.digest === undefined ? ref : parseReference(`${referenceName(ref)}:${tag}`),
      opts,
    );
    if (served !== target.digest) {
      throw trustError(
        ctx,
        `the registry serves ${served} for the tag "${tag}" but Notary signed ${target.digest}`,
        'the tag was re-pushed without being re-signed (or the registry is compromised): sign the new digest or push the signed one back',
      );
    }
    reporter.emit({
      type: 'info',
      message: `content trust: "${ctx.subject}" is ${target.digest}, signed by ${target.role} (${target.keyIds.map(short).join(', ')})`,
    });
    return { digest: target.digest, signedBy: [target.role], keyIds: target.keyIds };
  } finally {
    await client.close();
  }
}

/** The loud warning `--disable-content-trust` owes every image it skips. */
export function warnTrustDisabled(ref: Reference, reporter: Reporter): void {
  reporter.emit({
    type: 'warn',
    message: `content trust DISABLED: "${ref.expanded}" is in trust: but is pulled WITHOUT verification (--disable-content-trust)`,
  });
}
