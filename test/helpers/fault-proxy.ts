/**
 * A thin in-process HTTP proxy in front of a real registry that injects faults (docs/architecture.md#testing: real
 * parts, fakes only for faults). Every request is forwarded unchanged unless a fault rule matches it.
 *
 *   const proxy = await startFaultProxy(reg.url);           // proxy.host = 127.0.0.1:PORT
 *   t.after(() => proxy.stop());
 *   proxy.add({ match: /\/blobs\//, kind: 'reset', afterBytes: 4096 });   // once, then forward normally
 *   proxy.add({ match: /\/manifests\//, kind: 'status', status: 429, retryAfter: '1', times: 2 });
 *   // pull `${proxy.host}/repo:tag` …; proxy.requests lists what the client sent (method, path, headers).
 *
 * Fault kinds: `status` (answer with a status, optional Retry-After, no forwarding), `reset` (forward, then
 * destroy the socket after `afterBytes` of the body), `truncate` (forward but shorten Content-Length to
 * `afterBytes` and end cleanly), `corrupt` (forward with body bytes flipped, same length), `slow` (wait
 * `delayMs` before forwarding), `unauthorized` (401 with a Basic challenge, every time it matches),
 * `respond` (answer 200 with `respond.body()` and `respond.headers`, no forwarding: a hostile registry's
 * documents; a Buffer body gets a Content-Length unless `chunked`, an async iterable is streamed chunked,
 * and HEAD gets the headers only). `sent` counts the body bytes a `respond` rule wrote before the client
 * stopped reading. `times` (default 1) is how often a rule fires; `Infinity` for always.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

export type FaultKind = 'status' | 'reset' | 'truncate' | 'corrupt' | 'slow' | 'unauthorized' | 'respond';

export interface Response {
  headers?: Record<string, string>;
  body: () => Buffer | AsyncIterable<Buffer>;
  /** Send a Buffer body without Content-Length. */
  chunked?: boolean;
}

export interface FaultRule {
  match: RegExp;
  method?: string;
  kind: FaultKind;
  status?: number;
  retryAfter?: string;
  afterBytes?: number;
  delayMs?: number;
  times?: number;
  respond?: Response;
}

export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** The fault applied, if any. */
  fault?: FaultKind;
}

export interface FaultProxy {
  host: string;
  url: string;
  requests: SeenRequest[];
  /** Body bytes `respond` rules have written so far. */
  readonly sent: number;
  add(rule: FaultRule): void;
  clear(): void;
  stop(): Promise<void>;
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const up = new URL(upstream);
  const rules: Array<FaultRule & { left: number }> = [];
  const requests: SeenRequest[] = [];
  const counter = { sent: 0 };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    const rule = rules.find(
      (r) => r.left > 0 && r.match.test(path) && (r.method === undefined || r.method === req.method),
    );
    if (rule !== undefined) rule.left--;
    requests.push({
      method: req.method ?? 'GET',
      path,
      headers: req.headers,
      ...(rule === undefined ? {} : { fault: rule.kind }),
    });
    void handle(req, res, up, rule, counter).catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests,
    get sent() {
      return counter.sent;
    },
    add: (rule) => {
      rules.push({ ...rule, left: rule.times ?? 1 });
    },
    clear: () => {
      rules.length = 0;
      requests.length = 0;
    },
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  up: URL,
  rule: FaultRule | undefined,
  counter: { sent: number },
): Promise<void> {
  if (rule?.kind === 'respond' && rule.respond !== undefined) return respond(req, res, rule.respond, counter);
  if (rule?.kind === 'status') {
    await drain(req);
    res.writeHead(rule.status ?? 500, {
      'content-type': 'application/json',
      ...(rule.retryAfter === undefined ? {} : { 'retry-after': rule.retryAfter }),
    });
    res.end(
      JSON.stringify({
        errors: [
          { code: rule.status === 429 ? 'TOOMANYREQUESTS' : 'UNKNOWN', message: `injected ${rule.status ?? 500}` },
        ],
      }),
    );
    return;
  }
  if (rule?.kind === 'unauthorized') {
    await drain(req);
    res.writeHead(401, { 'www-authenticate': 'Basic realm="fault-proxy"', 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
    return;
  }
  if (rule?.kind === 'slow') await delay(rule.delayMs ?? 1000);
  const upstreamRes = await forward(req, up);
  const headers = { ...upstreamRes.headers };
  const after = rule?.afterBytes ?? 0;
  if (rule?.kind === 'truncate') headers['content-length'] = String(after);
  res.writeHead(upstreamRes.statusCode ?? 502, headers);
  let sent = 0;
  for await (const chunk of upstreamRes) {
    let c = chunk as Buffer;
    if (rule?.kind === 'corrupt') c = Buffer.from(c.map((b) => b ^ 0xff));
    if ((rule?.kind === 'reset' || rule?.kind === 'truncate') && sent + c.length >= after) {
      res.write(c.subarray(0, after - sent));
      if (rule.kind === 'reset') {
        await new Promise((r) => setTimeout(r, 300)); // let the client consume what was sent
        res.destroy();
      } else {
        res.end();
      }
      upstreamRes.destroy();
      return;
    }
    sent += c.length;
    res.write(c);
  }
  res.end();
}

async function respond(
  req: IncomingMessage,
  res: ServerResponse,
  r: Response,
  counter: { sent: number },
): Promise<void> {
  await drain(req);
  const body = r.body();
  const length = Buffer.isBuffer(body) && r.chunked !== true ? { 'content-length': String(body.length) } : {};
  res.writeHead(200, { ...length, ...r.headers });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const chunks: AsyncIterable<Buffer> | Buffer[] = Buffer.isBuffer(body) ? [body] : body;
  for await (const c of chunks) {
    if (res.destroyed) return;
    counter.sent += c.length;
    if (!res.write(c)) {
      await new Promise<void>((ok) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          ok();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  res.end();
}

function drain(req: IncomingMessage): Promise<void> {
  return new Promise((r) => {
    req.resume();
    req.on('end', r);
  });
}

function forward(req: IncomingMessage, up: URL): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers, host: up.host };
    const out = httpRequest({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers }, resolve);
    out.on('error', reject);
    req.pipe(out);
  });
}
