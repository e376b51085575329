/**
 * Where requests for a registry go: `--mirror` endpoints first (pulls only; `[REGISTRY=]URL`, bare URLs
 * mirror docker.io), then the registry itself. Docker Hub is `registry-1.docker.io`. Loopback and insecure
 * registries are probed over https first and fall back to plain http, as LinuxKit does.
 */
import { MobyError } from '../util/errors.ts';
import { isLoopback } from './transport.ts';

export interface Endpoint {
  /** `https://registry-1.docker.io` or a mirror's URL (may carry a path prefix), no trailing slash. */
  base: string;
  /** host[:port] used for credentials and auth caches. */
  host: string;
  mirror: boolean;
}

const HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** Canonical registry name: Docker Hub aliases become `docker.io`. */
export function canonicalRegistry(registry: string): string {
  return HUB_ALIASES.has(registry) ? 'docker.io' : registry;
}

/** The host that serves the distribution API for `registry`. */
export function apiHost(registry: string): string {
  return canonicalRegistry(registry) === 'docker.io' ? 'registry-1.docker.io' : registry;
}

export interface Mirror {
  registry: string;
  url: URL;
}

/** Parses LinuxKit's `--mirror [REGISTRY=]URL` values; throws a usage error naming a bad one. */
export function parseMirrors(values: string[]): Mirror[] {
  return values.map((v) => {
    const eq = v.indexOf('=');
    const registry = eq > 0 && !v.slice(0, eq).includes('/') ? v.slice(0, eq) : 'docker.io';
    const raw = eq > 0 && !v.slice(0, eq).includes('/') ? v.slice(eq + 1) : v;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new MobyError(`Invalid mirror "${v}": expected [REGISTRY=]http(s)://HOST[:PORT][/PATH]`, {
        code: 'USAGE',
        exitCode: 2,
      });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new MobyError(`Invalid mirror "${v}": the URL must start with http:// or https://`, {
        code: 'USAGE',
        exitCode: 2,
      });
    }
    return { registry: canonicalRegistry(registry), url };
  });
}

/** Mirrors for `registry`, in the order given, then the registry over `scheme`. */
export function endpointsFor(registry: string, mirrors: Mirror[], scheme: 'https' | 'http', pull: boolean): Endpoint[] {
  const canonical = canonicalRegistry(registry);
  const fromMirrors = pull
    ? mirrors
        .filter((m) => m.registry === canonical)
        .map((m) => ({ base: m.url.toString().replace(/\/+$/, ''), host: m.url.host, mirror: true }))
    : [];
  const host = apiHost(registry);
  return [...fromMirrors, { base: `${scheme}://${host}`, host, mirror: false }];
}

/** Registries whose scheme must be probed (https first, http fallback). */
export function needsProbe(registry: string, insecure: (host: string) => boolean): boolean {
  return isLoopback(registry) || insecure(registry);
}
