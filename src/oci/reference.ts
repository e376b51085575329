/**
 * Image references: parsing (distribution/reference grammar) and LinuxKit's expansion
 * (docs/linuxkit-behaviour.md#references).
 *
 * `expanded` is the string LinuxKit uses everywhere (cache key, `org.opencontainers.image.ref.name`, logs,
 * `metadata` files): one path component gets `docker.io/library/`, two components whose first part is not a
 * registry get `docker.io/`, anything else is kept. No `:latest` is added. Unlike LinuxKit (issue #4018), a
 * registry with a port or an IPv6 literal (`localhost:5000/x`, `[::1]:5000/x`, `registry.example:443/a/b`)
 * is always recognised as the registry.
 */
import { MobyError } from '../util/errors.ts';
import { isDigest, type Digest } from './digest.ts';

declare const referenceBrand: unique symbol;

export interface Reference {
  /** The string as the user wrote it. */
  readonly original: string;
  /** LinuxKit's expanded form, tag and digest included: `docker.io/library/redis:7`. */
  readonly expanded: string;
  /** Registry host as written, with port: `docker.io`, `localhost:5000`, `[::1]:5000`. */
  readonly registry: string;
  /** Repository path inside the registry: `library/redis`. */
  readonly repository: string;
  readonly tag: string | undefined;
  readonly digest: Digest | undefined;
  readonly [referenceBrand]: true;
}

export const DOCKER_HUB = 'docker.io';

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN =
  /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const MAX_NAME = 255;

/** A reference that does not parse; `reason` is what is wrong with it, for callers that word their own message. */
export class InvalidReferenceError extends MobyError {
  readonly reason: string;

  constructor(input: string, reason: string) {
    super(`Invalid image reference "${input}": ${reason}`, {
      code: 'SPEC_INVALID',
      hint: 'write it as [registry[:port]/]repository[:tag][@sha256:digest], e.g. "linuxkit/init:v1.0.0"',
    });
    this.reason = reason;
  }
}

function invalid(input: string, why: string): InvalidReferenceError {
  return new InvalidReferenceError(input, why);
}

/** A first path component names a registry when it has a dot, a port, is an IPv6 literal, or is localhost. */
function isRegistryComponent(s: string): boolean {
  return s.includes('.') || s.includes(':') || s.startsWith('[') || s === 'localhost';
}

function splitDigest(input: string): [string, string | undefined] {
  const at = input.indexOf('@');
  return at < 0 ? [input, undefined] : [input.slice(0, at), input.slice(at + 1)];
}

function splitTag(rest: string): [string, string | undefined] {
  const colon = rest.lastIndexOf(':');
  return colon > rest.lastIndexOf('/') ? [rest.slice(0, colon), rest.slice(colon + 1)] : [rest, undefined];
}

/** Parses and expands a reference; throws a MobyError (code SPEC_INVALID) saying what is wrong. */
export function parseReference(input: string): Reference {
  if (input.trim() === '') throw invalid(input, 'it is empty');
  if (input !== input.trim()) throw invalid(input, 'it has leading or trailing white space');
  if (input.startsWith('@pkg:')) throw invalid(input, 'it is an unresolved @pkg: template');
  const [withTag, digestPart] = splitDigest(input);
  if (digestPart !== undefined && !isDigest(digestPart)) {
    throw invalid(input, `"${digestPart}" is not a sha256/sha512 digest`);
  }
  const [name, tag] = splitTag(withTag);
  if (tag !== undefined && !TAG.test(tag)) throw invalid(input, `"${tag}" is not a valid tag`);
  const parts = name.split('/');
  const first = parts[0] ?? '';
  const hasRegistry = parts.length > 1 && isRegistryComponent(first);
  if (hasRegistry && !DOMAIN.test(first)) throw invalid(input, `"${first}" is not a valid registry host`);
  const path = hasRegistry ? parts.slice(1) : parts;
  const badPart = path.find((p) => !PATH_COMPONENT.test(p));
  if (badPart !== undefined) {
    const why =
      badPart === ''
        ? 'it has an empty path component'
        : /[A-Z]/.test(badPart)
          ? `"${badPart}" has upper-case letters (repository names must be lower case)`
          : `"${badPart}" is not a valid repository name component`;
    throw invalid(input, why);
  }
  if (name.length > MAX_NAME) throw invalid(input, `the name is longer than ${MAX_NAME} characters`);
  const registry = hasRegistry ? first : DOCKER_HUB;
  const repository = !hasRegistry && path.length === 1 ? `library/${path.join('/')}` : path.join('/');
  const expandedName = expandName(parts, hasRegistry, name);
  const expanded =
    expandedName + (tag === undefined ? '' : `:${tag}`) + (digestPart === undefined ? '' : `@${digestPart}`);
  return { original: input, expanded, registry, repository, tag, digest: digestPart } as Reference;
}

/**
 * LinuxKit's ReferenceExpand on the name part (docs/linuxkit-behaviour.md#references), with registries-with-ports
 * fixed.
 */
function expandName(parts: string[], hasRegistry: boolean, name: string): string {
  if (hasRegistry) return name;
  if (parts.length === 1) return `${DOCKER_HUB}/library/${name}`;
  if (parts.length === 2) return `${DOCKER_HUB}/${name}`;
  return name; // LinuxKit keeps three-component names as written
}

/** `registry/repository`, the name without tag or digest: `docker.io/library/redis`. */
export function referenceName(ref: Reference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** What to ask the registry for: the digest when pinned, else the tag, else `latest` (as LinuxKit's fetch does). */
export function manifestSelector(ref: Reference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** The same reference pinned to a digest, keeping the tag (`name:tag@sha256:…`). */
export function withDigest(ref: Reference, digest: Digest): Reference {
  const base = ref.expanded.split('@')[0] ?? ref.expanded;
  return parseReference(`${base}@${digest}`);
}
