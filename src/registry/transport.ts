/**
 * HTTP transport for the registry client: undici dispatchers (TLS verification on by default, an extra CA,
 * unverified TLS only for `insecureRegistries`, `HTTP(S)_PROXY`/`NO_PROXY` via EnvHttpProxyAgent, loopback
 * always direct), manual redirects that drop credentials across hosts, and timeouts that name what timed out.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { Readable } from 'node:stream';
import type * as UndiciModule from 'undici';
import type { Dispatcher } from 'undici';
import { errnoDetail, MobyError } from '../util/errors.ts';
import { redactUrl } from './redact.ts';

export interface Timeouts {
  connectMs: number;
  /** Waiting for response headers. */
  headersMs: number;
  /** Silence between two body chunks. */
  bodyMs: number;
}

export const defaultTimeouts: Timeouts = { connectMs: 30_000, headersMs: 60_000, bodyMs: 60_000 };

export interface TransportOptions {
  caFile?: string;
  insecureRegistries: string[];
  timeouts: Timeouts;
}

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: URL;
  headers: Record<string, string>;
  /** A stream body is sent once: redirects that keep the body (307/308) are not followed with it. */
  body?: Uint8Array | string | Readable;
  signal?: AbortSignal;
}

export type HttpResponse = Dispatcher.ResponseData & { url: URL };

/** True for localhost, 127.0.0.0/8 and ::1, with or without a port (LinuxKit allows plain HTTP there). */
export function isLoopback(host: string): boolean {
  const h = hostname(host);
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Host without port and without IPv6 brackets. */
export function hostname(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon > 0 && host.indexOf(':') === colon ? host.slice(0, colon) : host;
}

export interface Transport {
  /** Sends one request, following up to 5 redirects; Authorization is dropped when a redirect changes host. */
  send(req: HttpRequest): Promise<HttpResponse>;
  isInsecure(host: string): boolean;
  close(): Promise<void>;
}

type Undici = typeof UndiciModule;
let undici: Promise<Undici> | undefined;
/**
 * undici (about 110 modules) is loaded by the first request, not when this module is imported: every build
 * imports the registry code (trust, remote caches, pulls), but a build from the cache sends nothing.
 */
export const loadUndici = (): Promise<Undici> =>
  // the package's bundle gives a CommonJS module imported on demand as its `default` only
  (undici ??= import('undici').then((m) => (m as Undici & { default?: Undici }).default ?? m));

interface Dispatchers {
  request: Undici['request'];
  pick(url: URL): Dispatcher;
  close(): Promise<void>;
}

export function createTransport(opts: TransportOptions): Transport {
  // A CA file adds to Node's built-in roots: a private registry's CA must not break public registries.
  const ca = opts.caFile === undefined ? undefined : [...rootCertificates, readCa(opts.caFile)];
  const insecure = new Set(opts.insecureRegistries.map((h) => h.replace(/^https?:\/\//, '').replace(/\/+$/, '')));
  const isInsecure = (host: string): boolean => insecure.has(host) || insecure.has(hostname(host));
  const make = ({ Agent, EnvHttpProxyAgent, request }: Undici): Dispatchers => {
    const tls = (verify: boolean) => ({ ...(ca === undefined ? {} : { ca }), rejectUnauthorized: verify });
    const base = {
      headersTimeout: opts.timeouts.headersMs,
      bodyTimeout: opts.timeouts.bodyMs,
      connectTimeout: opts.timeouts.connectMs,
    };
    const verified = new EnvHttpProxyAgent({ ...base, connect: tls(true), requestTls: tls(true) });
    const unverified = new EnvHttpProxyAgent({ ...base, connect: tls(false), requestTls: tls(false) });
    const direct = new Agent({ ...base, connect: tls(true) });
    const directUnverified = new Agent({ ...base, connect: tls(false) });
    return {
      request,
      pick: (url) => {
        const unverify = isInsecure(url.host);
        if (isLoopback(url.host)) return unverify ? directUnverified : direct;
        return unverify ? unverified : verified;
      },
      close: async () => {
        await Promise.all([verified.close(), unverified.close(), direct.close(), directUnverified.close()]);
      },
    };
  };
  let dispatchers: Promise<Dispatchers> | undefined;
  return {
    isInsecure,
    send: async (req) => sendFollowing(req, await (dispatchers ??= loadUndici().then(make)), opts.timeouts),
    close: async () => {
      await (await dispatchers)?.close();
    },
  };
}

function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new MobyError(`Cannot read CA file "${file}"${errnoDetail(cause)}`, { code: 'USAGE', exitCode: 2, cause });
  }
}

async function sendFollowing(req: HttpRequest, d: Dispatchers, timeouts: Timeouts): Promise<HttpResponse> {
  let current = req;
  for (let hop = 0; hop <= 5; hop++) {
    const res = await sendOnce(current, d, timeouts);
    const location = res.headers.location;
    if (res.statusCode < 300 || res.statusCode >= 400 || res.statusCode === 304 || typeof location !== 'string')
      return res;
    await res.body.dump();
    const next = new URL(location, current.url);
    const headers = { ...current.headers };
    if (next.host !== current.url.host) delete headers.authorization;
    const keepBody = res.statusCode === 307 || res.statusCode === 308;
    current = {
      ...current,
      url: next,
      headers,
      ...(keepBody ? {} : { method: current.method === 'HEAD' ? 'HEAD' : 'GET', body: undefined }),
    };
  }
  throw new MobyError(`Too many redirects for ${redactUrl(req.url)}`, { code: 'REGISTRY' });
}

async function sendOnce(req: HttpRequest, d: Dispatchers, timeouts: Timeouts): Promise<HttpResponse> {
  try {
    const res = await d.request(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      dispatcher: d.pick(req.url),
      signal: req.signal,
      headersTimeout: timeouts.headersMs,
      bodyTimeout: timeouts.bodyMs,
    });
    return Object.assign(res, { url: req.url });
  } catch (err) {
    throw describeNetworkError(err, req, timeouts);
  }
}

/** Gives undici's timeout errors a message naming what timed out; other errors pass through unchanged. */
export function describeNetworkError(err: unknown, req: { method: string; url: URL }, timeouts: Timeouts): unknown {
  const code = (err as { code?: unknown }).code;
  const what =
    code === 'UND_ERR_CONNECT_TIMEOUT'
      ? `connecting to ${req.url.host} timed out after ${timeouts.connectMs / 1000}s`
      : code === 'UND_ERR_HEADERS_TIMEOUT'
        ? `no response headers from ${req.url.host} within ${timeouts.headersMs / 1000}s`
        : code === 'UND_ERR_BODY_TIMEOUT'
          ? `no data from ${req.url.host} for ${timeouts.bodyMs / 1000}s while reading the body`
          : undefined;
  if (what === undefined) return err;
  return Object.assign(new Error(`${req.method} ${redactUrl(req.url)}: ${what}`, { cause: err }), { code });
}
