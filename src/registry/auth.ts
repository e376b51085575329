/**
 * Registry authentication (distribution spec "token authentication"): parse `WWW-Authenticate`, fetch Bearer
 * tokens from the realm (anonymous, Basic credentials, or an `identitytoken` refresh via OAuth2 POST), and
 * cache them per realm+service+scope until they expire. Basic challenges get the credentials directly.
 */
import { MobyError } from '../util/errors.ts';
import type { Credential, CredentialStore } from './credentials.ts';
import type { Transport } from './transport.ts';
import { redactUrl } from './redact.ts';

export interface Challenge {
  scheme: 'bearer' | 'basic';
  realm?: string;
  service?: string;
  scope?: string;
}

/** Parses one `WWW-Authenticate` header value; undefined for schemes other than Bearer/Basic. */
export function parseChallenge(header: string | string[] | undefined): Challenge | undefined {
  const value = Array.isArray(header) ? header.find((h) => /^(bearer|basic)\b/i.test(h.trim())) : header;
  if (value === undefined) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(value);
  if (m === null) return undefined;
  const scheme = (m[1] ?? '').toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'basic') return undefined;
  const params: Record<string, string> = {};
  for (const p of (m[2] ?? '').matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[(p[1] ?? '').toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme, ...params };
}

function basicHeader(c: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

interface CachedToken {
  token: string;
  expires: number;
}

export interface Authenticator {
  /** The Authorization header for `host`+`scope`, from cache or the host's last challenge; undefined = none known. */
  cached(host: string, scope: string): string | undefined;
  /** Answers a 401: obtains a header satisfying `challenge` for `scope`; throws AUTH when it cannot. */
  answer(host: string, scope: string, challenge: Challenge, subject: string): Promise<string | undefined>;
  /** Tokens and passwords seen so far (for redaction). */
  secrets(): string[];
}

export function createAuthenticator(
  transport: Transport,
  credentials: CredentialStore,
  userAgent: string,
): Authenticator {
  const tokens = new Map<string, CachedToken>();
  const challenges = new Map<string, Challenge>();
  const basics = new Map<string, string>();
  const seen = new Set<string>();
  const key = (c: Challenge, scope: string): string => `${c.realm ?? ''}|${c.service ?? ''}|${scope}`;
  return {
    secrets: () => [...seen, ...credentials.secrets()],
    cached(host, scope) {
      const basic = basics.get(host);
      if (basic !== undefined) return basic;
      const c = challenges.get(host);
      const t = c === undefined ? undefined : tokens.get(key(c, scope));
      return t !== undefined && t.expires > Date.now() ? `Bearer ${t.token}` : undefined;
    },
    async answer(host, scope, challenge, subject) {
      const cred = await credentials.get(host);
      if (challenge.scheme === 'basic') {
        if (cred?.kind !== 'basic') throw authRequired(subject, host, cred !== undefined);
        const header = basicHeader(cred);
        basics.set(host, header);
        return header;
      }
      challenges.set(host, challenge);
      const token = await fetchToken({ transport, challenge, scope, cred, subject, userAgent });
      seen.add(token.token);
      tokens.set(key(challenge, scope), token);
      return `Bearer ${token.token}`;
    },
  };
}

function authRequired(subject: string, host: string, hadIdentityToken: boolean): MobyError {
  return new MobyError(
    `${subject}: ${host} requires a user name and password${hadIdentityToken ? ' (an identity token cannot answer a Basic challenge)' : ''}`,
    {
      code: 'AUTH',
      hint: 'log in with `docker login`/`podman login`, or set MOBYTS_REGISTRY_USER and MOBYTS_REGISTRY_PASSWORD',
    },
  );
}

interface TokenRequest {
  transport: Transport;
  challenge: Challenge;
  scope: string;
  cred: Credential | undefined;
  subject: string;
  userAgent: string;
}

async function fetchToken(r: TokenRequest): Promise<CachedToken> {
  if (r.challenge.realm === undefined)
    throw new MobyError(`${r.subject}: the registry sent a Bearer challenge without a realm`, { code: 'AUTH' });
  const url = new URL(r.challenge.realm);
  const headers: Record<string, string> = { 'user-agent': r.userAgent };
  let method: 'GET' | 'POST' = 'GET';
  let body: string | undefined;
  if (r.cred?.kind === 'identity') {
    method = 'POST';
    headers['content-type'] = 'application/x-www-form-urlencoded';
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: r.cred.identityToken,
      client_id: 'mobyts',
      scope: r.scope,
    });
    if (r.challenge.service !== undefined) form.set('service', r.challenge.service);
    body = form.toString();
  } else {
    if (r.challenge.service !== undefined) url.searchParams.set('service', r.challenge.service);
    url.searchParams.set('scope', r.scope);
    if (r.cred?.kind === 'basic') headers.authorization = basicHeader(r.cred);
  }
  const res = await r.transport.send({ method, url, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.body.text();
  if (res.statusCode === 401 || res.statusCode === 403) {
    throw new MobyError(
      `${r.subject}: the token service ${redactUrl(url.origin + url.pathname)} rejected ${r.cred === undefined ? 'anonymous access' : 'the credentials'} (HTTP ${res.statusCode})`,
      {
        code: 'AUTH',
        hint:
          r.cred === undefined
            ? 'log in with `docker login` or set MOBYTS_REGISTRY_USER/MOBYTS_REGISTRY_PASSWORD'
            : 'check the user name and password for this registry',
      },
    );
  }
  if (res.statusCode !== 200) {
    throw new MobyError(
      `${r.subject}: the token service ${redactUrl(url.origin + url.pathname)} answered HTTP ${res.statusCode}`,
      { code: 'AUTH' },
    );
  }
  let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new MobyError(`${r.subject}: the token service sent a response that is not JSON`, { code: 'AUTH' });
  }
  const token =
    typeof parsed.token === 'string'
      ? parsed.token
      : typeof parsed.access_token === 'string'
        ? parsed.access_token
        : undefined;
  if (token === undefined || token === '')
    throw new MobyError(`${r.subject}: the token service sent no token`, { code: 'AUTH' });
  const seconds = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 60;
  return { token, expires: Date.now() + Math.max(10, seconds - 10) * 1000 };
}
