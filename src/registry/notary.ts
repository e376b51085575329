/**
 * A read-only Notary v1 client: fetches one role's TUF metadata for a GUN (`GET
 * <server>/v2/<GUN>/_trust/tuf/<role>.json`, notary `server/server.go` routes). It only transports bytes —
 * checking them is `trust/`'s job. Handles the anonymous Bearer-token challenge Docker Hub's Notary sends.
 */
import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import type { Dispatcher } from 'undici';
import { loadUndici } from './transport.ts';
import { errnoDetail, MobyError } from '../util/errors.ts';

export const DOCKER_HUB_NOTARY = 'https://notary.docker.io';

/** Metadata larger than this is refused (Notary's own client caps at 5 MiB for targets). */
const MAX_METADATA_BYTES = 5 * 1024 * 1024;

export interface NotaryClientOptions {
  /** Server base URL, e.g. `https://notary.docker.io`. */
  server: string;
  /** Extra CA bundle (PEM file) to trust for the server's TLS certificate. */
  caFile?: string;
  signal?: AbortSignal;
}

export interface NotaryClient {
  readonly server: string;
  /** The role's bytes, or undefined when the server has none (404): an unsigned repository or role. */
  fetchRole(gun: string, role: string): Promise<Uint8Array | undefined>;
  close(): Promise<void>;
}

/**
 * The Notary server for a registry, Docker's rule (`cli/trust.Server`): the explicit one, else
 * `$DOCKER_CONTENT_TRUST_SERVER`, else Docker Hub's for `docker.io`, else `https://<registry>`.
 */
export function notaryServerFor(registry: string, explicit?: string): string {
  const chosen = explicit ?? process.env['DOCKER_CONTENT_TRUST_SERVER'];
  if (chosen !== undefined && chosen !== '') return chosen.replace(/\/+$/, '');
  return registry === 'docker.io' ? DOCKER_HUB_NOTARY : `https://${registry}`;
}

function notaryError(url: string, detail: string, cause?: unknown): MobyError {
  return new MobyError(`Cannot fetch trust data "${url}": ${detail}`, {
    code: 'TRUST',
    ...(cause === undefined ? {} : { cause }),
    hint: 'check --trust-server / $DOCKER_CONTENT_TRUST_SERVER and --cert-file',
  });
}

function parseChallenge(header: string | string[] | undefined): Record<string, string> | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^bearer\s/i.test(value)) return undefined;
  const params: Record<string, string> = {};
  for (const m of value.slice(7).matchAll(/(\w+)="([^"]*)"/g)) params[m[1] ?? ''] = m[2] ?? '';
  return params;
}

async function readCapped(body: Dispatcher.ResponseData['body'], url: string): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_METADATA_BYTES) {
      body.destroy();
      throw notaryError(url, `larger than ${MAX_METADATA_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function readCa(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    throw new MobyError(`Cannot read CA file "${file}"${errnoDetail(cause)}`, { code: 'USAGE', exitCode: 2, cause });
  }
}

/** Opens a client; the caller closes it. The CA file is read now, so a bad path fails here. */
export async function openNotaryClient(opts: NotaryClientOptions): Promise<NotaryClient> {
  const ca = opts.caFile === undefined ? undefined : await readCa(opts.caFile);
  // undici is loaded when a client is opened: importing this module (every build does) costs nothing
  const { Agent, request } = await loadUndici();
  // An explicit `ca` replaces Node's default roots: keep them, so --cert-file for a private registry does not
  // break Docker Hub's Notary.
  const dispatcher = new Agent({
    connect: { timeout: 30_000, ...(ca === undefined ? {} : { ca: [...rootCertificates, ca] }) },
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  const server = opts.server.replace(/\/+$/, '');
  let token: string | undefined;

  async function get(url: string, headers: Record<string, string>): Promise<Dispatcher.ResponseData> {
    try {
      return await request(url, {
        method: 'GET',
        headers,
        dispatcher,
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      });
    } catch (err) {
      throw notaryError(url, 'the request failed', err);
    }
  }

  async function fetchToken(challenge: Record<string, string>, gun: string): Promise<string | undefined> {
    const realm = challenge['realm'];
    if (realm === undefined) return undefined;
    const url = new URL(realm);
    if (challenge['service'] !== undefined) url.searchParams.set('service', challenge['service']);
    url.searchParams.set('scope', challenge['scope'] ?? `repository:${gun}:pull`);
    const res = await get(url.toString(), {});
    if (res.statusCode !== 200) {
      await res.body.dump();
      return undefined;
    }
    const json = (await res.body.json()) as { token?: string; access_token?: string };
    return json.token ?? json.access_token;
  }

  async function fetchRole(gun: string, role: string): Promise<Uint8Array | undefined> {
    const url = `${server}/v2/${gun}/_trust/tuf/${role}.json`;
    const headers = (): Record<string, string> => (token === undefined ? {} : { authorization: `Bearer ${token}` });
    let res = await get(url, headers());
    if (res.statusCode === 401) {
      const challenge = parseChallenge(res.headers['www-authenticate']);
      await res.body.dump();
      token = challenge === undefined ? undefined : await fetchToken(challenge, gun);
      if (token === undefined) throw notaryError(url, '401 Unauthorized and no usable Bearer challenge');
      res = await get(url, headers());
    }
    if (res.statusCode === 404) {
      await res.body.dump();
      return undefined;
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw notaryError(url, `HTTP ${res.statusCode}`);
    }
    return readCapped(res.body, url);
  }

  return { server, fetchRole, close: () => dispatcher.close() };
}
