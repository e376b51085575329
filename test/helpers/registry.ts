/**
 * The REAL CNCF registry (Debian's `docker-registry`, distribution 2.8) for integration tests.
 *
 *   const reg = await startRegistry();                    // anonymous, plain HTTP on 127.0.0.1:<free port>
 *   t.after(() => reg.stop());                            // always stop it (kills the process, removes temp dir)
 *   await pushImage(reg.host, 'x/y:1', await buildImage({}));   // see images.ts
 *   const store = await openStore(tmpDir);
 *   await store.getImage(parseReference(`${reg.host}/x/y:1`), { ...reg.pullOptions(platformFor('amd64')) });
 *
 * Options:
 *   auth: 'htpasswd' — Basic auth (bcrypt file from `htpasswd -B`); user `reg.username` / `reg.password`.
 *   auth: 'token'    — Bearer token flow as Docker Hub does it: a token server in this process (`reg.tokenUrl`)
 *                       issues RS256 JWTs for `repository:NAME:pull[,push]` scopes; it accepts the same user/
 *                       password (Basic), anonymous pull when `anonymousPull` is set, and the identity token
 *                       `reg.identityToken` via the OAuth2 refresh_token POST. `reg.tokenRequests` counts requests.
 *   tls: true        — HTTPS with a server certificate for 127.0.0.1 signed by a CA generated here (`reg.caFile`).
 *   proxyRemoteUrl   — a pull-through cache (`proxy.remoteurl`) in front of another registry (mirror tests).
 * `reg.credentials` is a credential map for staticCredentialStore; `reg.registryOptions` the RegistryOptions
 * (caFile set for TLS); `reg.pullOptions(platform)` complete GetImageOptions with a silent reporter.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSign, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent, request } from 'undici';
import type { Credential } from '../../src/registry/credentials.ts';
import type { GetImageOptions, RegistryOptions } from '../../src/store/types.ts';
import type { Platform } from '../../src/oci/types.ts';
import { silentReporter } from '../../src/util/reporter.ts';

export interface StartRegistryOptions {
  auth?: 'htpasswd' | 'token';
  tls?: boolean;
  /** Upstream URL for a pull-through cache registry. */
  proxyRemoteUrl?: string;
  /** Token auth: allow pulls without credentials (Docker Hub style). */
  anonymousPull?: boolean;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT` — use as the registry part of references. */
  host: string;
  /** `http://127.0.0.1:PORT` or `https://…`. */
  url: string;
  /** PEM of the CA that signed the server certificate (tls only). */
  caFile?: string;
  username: string;
  password: string;
  identityToken: string;
  /** Token server realm (token auth only). */
  tokenUrl?: string;
  /** Requests the token server answered (token auth only). */
  tokenRequests: number;
  credentials: Record<string, Credential>;
  registryOptions: RegistryOptions;
  pullOptions(platform: Platform, extra?: Partial<GetImageOptions>): GetImageOptions;
  /** The registry's own log (stderr), for debugging failures. */
  logs(): string;
  stop(): Promise<void>;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((res) => srv.close(() => res()));
  return port;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/** Generates a CA and a server certificate for 127.0.0.1/localhost in `dir`; returns file paths. */
export function generateTls(dir: string): { caFile: string; certFile: string; keyFile: string } {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca-key.pem',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=mobyts test CA',
    ],
    dir,
  );
  openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'server-key.pem',
      '-out',
      'server.csr',
      '-subj',
      '/CN=127.0.0.1',
    ],
    dir,
  );
  execFileSync(
    'sh',
    ['-c', 'printf "subjectAltName=IP:127.0.0.1,DNS:localhost\\nbasicConstraints=CA:FALSE\\n" > ext.cnf'],
    { cwd: dir },
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      '2',
      '-extfile',
      'ext.cnf',
    ],
    dir,
  );
  return { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server-key.pem') };
}

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'mobyts-registry-'));
  const username = 'mobyuser';
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const identityToken = `idtok-${randomBytes(12).toString('hex')}`;
  const cleanups: Array<() => Promise<void>> = [() => rm(dir, { recursive: true, force: true })];
  try {
    const tls = opts.tls === true ? generateTls(dir) : undefined;
    const token =
      opts.auth === 'token'
        ? await startTokenServer({ dir, username, password, identityToken, anonymousPull: opts.anonymousPull === true })
        : undefined;
    if (token !== undefined) cleanups.unshift(token.stop);
    let authYaml = '';
    if (opts.auth === 'htpasswd') {
      await writeFile(join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', username, password]));
      authYaml = `auth:\n  htpasswd:\n    realm: mobyts-test\n    path: ${join(dir, 'htpasswd')}\n`;
    } else if (token !== undefined) {
      authYaml = `auth:\n  token:\n    realm: ${token.url}/token\n    service: mobyts-registry\n    issuer: mobyts-token-issuer\n    rootcertbundle: ${token.certFile}\n`;
    }
    const { child, port } = await launchReady(dir, authYaml, tls, opts.proxyRemoteUrl, cleanups);
    const logs = (): string => child.logs();
    const host = `127.0.0.1:${port}`;
    const url = `${tls === undefined ? 'http' : 'https'}://${host}`;
    const credentials: Record<string, Credential> = { [host]: { kind: 'basic', username, password } };
    const registryOptions: RegistryOptions = {
      mirrors: [],
      insecureRegistries: [],
      ...(tls === undefined ? {} : { caFile: tls.caFile }),
    };
    const reg: TestRegistry = {
      host,
      url,
      username,
      password,
      identityToken,
      credentials,
      registryOptions,
      ...(tls === undefined ? {} : { caFile: tls.caFile }),
      ...(token === undefined ? {} : { tokenUrl: `${token.url}/token` }),
      get tokenRequests() {
        return token?.requests() ?? 0;
      },
      pullOptions: (platform, extra) => ({
        platform,
        pull: false,
        registry: registryOptions,
        reporter: silentReporter,
        ...extra,
      }),
      logs,
      stop: async () => {
        for (const c of cleanups) await c().catch(() => undefined);
      },
    };
    return reg;
  } catch (err) {
    for (const c of cleanups) await c().catch(() => undefined);
    throw err;
  }
}

type RegistryProcess = ChildProcess & { logs(): string };

/** Starts docker-registry on a free port and waits for /v2/; retries on another port if it lost a port race. */
async function launchReady(
  dir: string,
  authYaml: string,
  tls: { caFile: string; certFile: string; keyFile: string } | undefined,
  proxy: string | undefined,
  cleanups: Array<() => Promise<void>>,
): Promise<{ child: RegistryProcess; port: number }> {
  for (let tries = 1; ; tries++) {
    const port = await freePort();
    const child = launch(
      dir,
      port,
      [authYaml.trimEnd(), proxy === undefined ? '' : `proxy:\n  remoteurl: ${proxy}`],
      tls,
    );
    try {
      await waitReady(`${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`, tls?.caFile, child, () =>
        child.logs(),
      );
      cleanups.unshift(() => stopChild(child));
      return { child, port };
    } catch (err) {
      await stopChild(child);
      if (tries >= 4 || !/address already in use/.test(child.logs())) throw err;
    }
  }
}

function launch(
  dir: string,
  port: number,
  extra: string[],
  tls: { certFile: string; keyFile: string } | undefined,
): RegistryProcess {
  const config = [
    'version: 0.1',
    'log:\n  level: warn\n  accesslog:\n    disabled: true',
    `storage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false`,
    `http:\n  addr: 127.0.0.1:${port}\n  secret: mobyts-test-secret${tls === undefined ? '' : `\n  tls:\n    certificate: ${tls.certFile}\n    key: ${tls.keyFile}`}`,
    ...extra,
  ]
    .filter((s) => s !== '')
    .join('\n');
  const file = join(dir, `config-${port}.yml`);
  writeFileSync(file, `${config}\n`);
  let out = '';
  const child = spawn('/usr/bin/docker-registry', ['serve', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return Object.assign(child, { logs: () => out });
}

async function waitReady(
  url: string,
  caFile: string | undefined,
  child: ChildProcess,
  logs: () => string,
): Promise<void> {
  const dispatcher = new Agent({ connect: caFile === undefined ? {} : { ca: await readFile(caFile) } });
  try {
    for (let i = 0; i < 200; i++) {
      if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}:\n${logs()}`);
      try {
        const res = await request(`${url}/v2/`, { dispatcher });
        await res.body.dump();
        if (res.statusCode === 200 || res.statusCode === 401) return;
      } catch {
        // not listening yet
      }
      await delay(50);
    }
    throw new Error(`docker-registry did not answer ${url}/v2/ within 10s:\n${logs()}`);
  } finally {
    await dispatcher.close();
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

interface TokenServerOptions {
  dir: string;
  username: string;
  password: string;
  identityToken: string;
  anonymousPull: boolean;
}

/** A minimal Docker-style token service: RS256 JWTs carrying the x5c chain the registry trusts. */
async function startTokenServer(
  o: TokenServerOptions,
): Promise<{ url: string; certFile: string; requests: () => number; stop: () => Promise<void> }> {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'token-key.pem',
      '-out',
      'token.pem',
      '-days',
      '2',
      '-subj',
      '/CN=mobyts token issuer',
    ],
    o.dir,
  );
  const key = await readFile(join(o.dir, 'token-key.pem'), 'utf8');
  const certPem = await readFile(join(o.dir, 'token.pem'), 'utf8');
  const certDer = certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    void handleToken(req, res, { ...o, key, certDer }).catch(() => {
      res.statusCode = 500;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    certFile: join(o.dir, 'token.pem'),
    requests: () => requests,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  let s = '';
  for await (const c of req) s += (c as Buffer).toString();
  return s;
}

async function handleToken(
  req: IncomingMessage,
  res: ServerResponse,
  o: TokenServerOptions & { key: string; certDer: string },
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  let params = url.searchParams;
  let authenticated = false;
  if (req.method === 'POST') {
    params = new URLSearchParams(await readBody(req));
    authenticated = params.get('grant_type') === 'refresh_token' && params.get('refresh_token') === o.identityToken;
    if (!authenticated) return deny(res);
  } else {
    const auth = req.headers.authorization;
    if (auth !== undefined) {
      const [user, pass] = Buffer.from(auth.replace(/^Basic /, ''), 'base64')
        .toString()
        .split(':');
      if (user !== o.username || pass !== o.password) return deny(res);
      authenticated = true;
    }
  }
  const access = params
    .getAll('scope')
    .join(' ')
    .split(' ')
    .filter((s) => s !== '')
    .map((scope) => {
      const [type, name, actions] = scope.split(':');
      const granted = (actions ?? '').split(',').filter((a) => authenticated || (o.anonymousPull && a === 'pull'));
      return { type, name, actions: granted };
    });
  if (!authenticated && !o.anonymousPull) return deny(res);
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', x5c: [o.certDer] };
  const claims = {
    iss: 'mobyts-token-issuer',
    sub: authenticated ? o.username : '',
    aud: params.get('service') ?? '',
    exp: now + 300,
    nbf: now - 10,
    iat: now,
    jti: randomBytes(8).toString('hex'),
    access,
  };
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const signingInput = `${b64(header)}.${b64(claims)}`;
  const signature = createSign('RSA-SHA256').update(signingInput).sign(o.key).toString('base64url');
  const token = `${signingInput}.${signature}`;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
}

function deny(res: ServerResponse): void {
  res.statusCode = 401;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ details: 'incorrect username or password' }));
}
