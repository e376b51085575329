/**
 * Where registry credentials come from, first match wins:
 *  1. `MOBYTS_REGISTRY_AUTH`: JSON, either `{"auths":{HOST:{…}}}` or `{HOST:{…}}`, entries in docker's form
 *     (`auth` = base64 "user:pass", or `username`/`password`, or `identitytoken`). For CI secrets.
 *  2. `MOBYTS_REGISTRY_USER` + `MOBYTS_REGISTRY_PASSWORD`: for the hosts in `MOBYTS_REGISTRY_HOST`
 *     (comma-separated), or for every registry when that is unset (only sent after a 401 challenge).
 *  3. Docker's `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`): `credHelpers[host]`, `auths[host]`,
 *     then `credsStore` — helpers run as `docker-credential-<name> get`.
 *  4. Podman's auth files: `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
 *     `~/.config/containers/auth.json`.
 * Docker Hub is looked up under `https://index.docker.io/v1/`, `index.docker.io`, `docker.io` and
 * `registry-1.docker.io`. Every secret handed out is remembered so errors can be scrubbed of it.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execCapture, type ExecCaptureError } from '../tools/spawn.ts';
import { MobyError } from '../util/errors.ts';

export type Credential =
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'identity'; username?: string; identityToken: string };

export interface CredentialStore {
  get(host: string): Promise<Credential | undefined>;
  /** Every secret handed out so far (for redaction). */
  secrets(): string[];
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface AuthFile {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

type Env = Record<string, string | undefined>;

const HUB_KEYS = ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];

/** The keys an auth file may use for `host`. */
export function hostKeys(host: string): string[] {
  const h = host.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (HUB_KEYS.some((k) => k.replace(/^https?:\/\//, '').replace(/\/.*$/, '') === h)) return HUB_KEYS;
  return [h, `https://${h}`, `http://${h}`, `https://${h}/v1/`, `https://${h}/v2/`];
}

/** Credentials from the environment and the usual files (see the module comment). Files are read lazily. */
export function defaultCredentialStore(env: Env = process.env): CredentialStore {
  const secrets = new Set<string>();
  const remember = (c: Credential | undefined): Credential | undefined => {
    if (c?.kind === 'basic') secrets.add(c.password);
    if (c?.kind === 'identity') secrets.add(c.identityToken);
    return c;
  };
  return {
    secrets: () => [...secrets],
    get: async (host) =>
      remember(
        fromEnvJson(env, host) ??
          fromEnvUser(env, host) ??
          (await fromDockerConfig(env, host)) ??
          fromPodman(env, host),
      ),
  };
}

/** A fixed set of credentials (tests, library callers). */
export function staticCredentialStore(byHost: Record<string, Credential>): CredentialStore {
  return {
    secrets: () => Object.values(byHost).map((c) => (c.kind === 'basic' ? c.password : c.identityToken)),
    get: (host) =>
      Promise.resolve(
        hostKeys(host)
          .map((k) => byHost[k])
          .find((c) => c !== undefined),
      ),
  };
}

function entryToCredential(e: AuthEntry | undefined): Credential | undefined {
  if (e === undefined) return undefined;
  if (typeof e.identitytoken === 'string' && e.identitytoken !== '') {
    return {
      kind: 'identity',
      identityToken: e.identitytoken,
      ...(e.username === undefined ? {} : { username: e.username }),
    };
  }
  if (typeof e.auth === 'string' && e.auth !== '') {
    const decoded = Buffer.from(e.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof e.username === 'string' && typeof e.password === 'string')
    return { kind: 'basic', username: e.username, password: e.password };
  return undefined;
}

function lookup(auths: Record<string, AuthEntry> | undefined, host: string): Credential | undefined {
  if (auths === undefined) return undefined;
  for (const k of hostKeys(host)) {
    const c = entryToCredential(auths[k]);
    if (c !== undefined) return c;
  }
  return undefined;
}

function fromEnvJson(env: Env, host: string): Credential | undefined {
  const raw = env.MOBYTS_REGISTRY_AUTH;
  if (raw === undefined || raw.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new MobyError('Cannot read MOBYTS_REGISTRY_AUTH: it is not valid JSON', {
      code: 'USAGE',
      exitCode: 2,
      hint: 'set it to {"auths":{"registry.example":{"username":"u","password":"p"}}}',
    });
  }
  const obj = parsed as AuthFile & Record<string, AuthEntry>;
  return lookup(obj.auths ?? obj, host);
}

function fromEnvUser(env: Env, host: string): Credential | undefined {
  const username = env.MOBYTS_REGISTRY_USER;
  const password = env.MOBYTS_REGISTRY_PASSWORD;
  if (username === undefined || password === undefined || username === '') return undefined;
  const hosts = (env.MOBYTS_REGISTRY_HOST ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  if (hosts.length > 0 && !hosts.some((h) => hostKeys(h).includes(hostKeys(host)[0] ?? host))) return undefined;
  return { kind: 'basic', username, password };
}

function readJson(file: string): AuthFile | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as AuthFile;
  } catch {
    return undefined;
  }
}

async function fromDockerConfig(env: Env, host: string): Promise<Credential | undefined> {
  const dir = env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker');
  const cfg = readJson(join(dir, 'config.json'));
  if (cfg === undefined) return undefined;
  const helper = hostKeys(host)
    .map((k) => cfg.credHelpers?.[k])
    .find((h) => h !== undefined);
  if (helper !== undefined) return runHelper(helper, hostKeys(host)[0] ?? host, env);
  const direct = lookup(cfg.auths, host);
  if (direct !== undefined) return direct;
  if (cfg.credsStore !== undefined && cfg.credsStore !== '')
    return runHelper(cfg.credsStore, hostKeys(host)[0] ?? host, env);
  return undefined;
}

function fromPodman(env: Env, host: string): Credential | undefined {
  const files = [
    env.REGISTRY_AUTH_FILE,
    env.XDG_RUNTIME_DIR === undefined ? undefined : join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'),
    join(env.HOME ?? homedir(), '.config', 'containers', 'auth.json'),
  ];
  for (const f of files) {
    if (f === undefined) continue;
    const c = lookup(readJson(f)?.auths, host);
    if (c !== undefined) return c;
  }
  return undefined;
}

/** Runs `docker-credential-<helper> get`; a helper that does not know the host yields undefined. */
async function runHelper(helper: string, serverUrl: string, env: Env): Promise<Credential | undefined> {
  let stdout: string;
  try {
    ({ stdout } = await execCapture(`docker-credential-${helper}`, ['get'], {
      env,
      timeoutMs: 30_000,
      input: serverUrl,
    }));
  } catch (e) {
    const err = e as ExecCaptureError;
    // not found, or the helper is not installed (a config copied from a desktop): pull anonymously
    if (/credentials not found/i.test(err.stdout) || err.code === 1 || err.code === 'ENOENT') return undefined;
    throw new MobyError(`Cannot get credentials for "${serverUrl}": docker-credential-${helper} failed`, {
      code: 'AUTH',
      cause: err,
      hint: `check that docker-credential-${helper} is installed and on PATH, or remove it from your docker config.json`,
    });
  }
  try {
    const out = JSON.parse(stdout) as { Username?: string; Secret?: string };
    if (out.Secret === undefined || out.Secret === '') return undefined;
    return out.Username === '<token>'
      ? { kind: 'identity', identityToken: out.Secret }
      : { kind: 'basic', username: out.Username ?? '', password: out.Secret };
  } catch {
    return undefined;
  }
}
