/**
 * The distribution API client (OCI distribution spec: pull, push): manifests by tag or digest (HEAD first),
 * blobs with redirects and `Range` resume, Bearer/Basic auth, mirrors, bounded retries. Bytes are returned
 * as the registry sent them; manifests are digest-checked here, blobs by whoever stores them (store/).
 * Every failure is a RegistryError whose message starts with the caller's subject (`Cannot pull "REF"`).
 */
import { Readable } from 'node:stream';
import { digestOf, isDigest, type Digest } from '../oci/digest.ts';
import { MAX_MANIFEST_BYTES, MediaType, type Descriptor } from '../oci/types.ts';
import type { RegistryOptions } from '../store/types.ts';
import { isMobyError } from '../util/errors.ts';
import { createAuthenticator, parseChallenge, type Authenticator } from './auth.ts';
import type { CallContext } from './call-context.ts';
import { defaultCredentialStore, type CredentialStore } from './credentials.ts';
import { canonicalRegistry, endpointsFor, needsProbe, parseMirrors, type Endpoint, type Mirror } from './endpoints.ts';
import { parseErrorBody, RegistryError } from './errors.ts';
import { classify, header, isTlsVerifyError, manifestMediaType, readLimited } from './http-util.ts';
import { redactText, redactUrl } from './redact.ts';
import { defaultRetryPolicy, isRetryableError, isRetryableStatus, retryDelay, type RetryPolicy } from './retry.ts';
import {
  createTransport,
  defaultTimeouts,
  type HttpRequest,
  type HttpResponse,
  type Timeouts,
  type Transport,
} from './transport.ts';

export const MANIFEST_ACCEPT = [
  MediaType.OCI_INDEX,
  MediaType.OCI_MANIFEST,
  MediaType.DOCKER_MANIFEST_LIST,
  MediaType.DOCKER_MANIFEST,
].join(', ');

export interface RegistryClientOptions {
  registry: RegistryOptions;
  /** Default: environment, docker config, cred helpers, podman auth files (credentials.ts). */
  credentials?: CredentialStore;
  retry?: Partial<RetryPolicy>;
  timeouts?: Partial<Timeouts>;
  signal?: AbortSignal;
  userAgent?: string;
}

export { pullContext, pushContext, type CallContext } from './call-context.ts';

export interface FetchedManifest {
  descriptor: Descriptor;
  bytes: Buffer;
}

interface ApiRequest {
  method: HttpRequest['method'];
  /** Path after `/v2/<repo>/`, e.g. `manifests/latest`; or an absolute URL (upload locations). */
  path: string;
  headers?: Record<string, string>;
  /** A function body is opened again for every attempt (retries re-send a file from its start). */
  body?: Uint8Array | string | (() => Readable);
  ok: number[];
}

export interface RegistryClient {
  /** The root descriptor `selector` (tag or digest) points at: HEAD, falling back to GET when HEAD lacks a digest. */
  resolve(ctx: CallContext, selector: string): Promise<Descriptor>;
  /** GETs a manifest, checked against `expected` (or the digest selector / Docker-Content-Digest). */
  fetchManifest(ctx: CallContext, selector: string, expected?: Descriptor): Promise<FetchedManifest>;
  /** Opens a blob's bytes (unverified: the consumer checks digest and size); resumes with Range after resets. */
  openBlob(ctx: CallContext, desc: Descriptor): Promise<Readable>;
  /**
   * Uploads a blob (monolithic POST+PUT) unless the registry already has it. `data` is the bytes, or a function
   * opening them as a stream (called again for each attempt, so a large file is never held in memory).
   */
  pushBlob(ctx: CallContext, desc: Descriptor, data: Uint8Array | (() => Readable)): Promise<void>;
  /** PUTs a manifest under `tag` (or its digest when omitted); returns its digest. */
  pushManifest(ctx: CallContext, bytes: Uint8Array, mediaType: string, tag?: string): Promise<Digest>;
  /** Every tag of the repository (`tags/list`, following `Link` pages); empty when the repository does not exist. */
  listTags(ctx: CallContext): Promise<string[]>;
  close(): Promise<void>;
}

export function createRegistryClient(opts: RegistryClientOptions): RegistryClient {
  return new Client(opts);
}

class Client implements RegistryClient {
  readonly #transport: Transport;
  readonly #auth: Authenticator;
  readonly #mirrors: Mirror[];
  readonly #retry: RetryPolicy;
  readonly #signal: AbortSignal | undefined;
  readonly #userAgent: string;
  readonly #schemes = new Map<string, Promise<'https' | 'http'>>();
  /** Mirrors that failed once: skipped for the rest of this client's life (one pull), as they are likely down. */
  readonly #failedMirrors = new Set<string>();
  /** Manifests resolve() had to GET, so the fetch that follows does not download them again. */
  readonly #fetched = new Map<string, FetchedManifest>();
  readonly #timeouts: Timeouts;

  constructor(opts: RegistryClientOptions) {
    this.#timeouts = { ...defaultTimeouts, ...opts.timeouts };
    this.#transport = createTransport({
      insecureRegistries: opts.registry.insecureRegistries,
      timeouts: this.#timeouts,
      ...(opts.registry.caFile === undefined ? {} : { caFile: opts.registry.caFile }),
    });
    this.#userAgent = opts.userAgent ?? 'mobyts';
    this.#auth = createAuthenticator(this.#transport, opts.credentials ?? defaultCredentialStore(), this.#userAgent);
    this.#mirrors = parseMirrors(opts.registry.mirrors);
    this.#retry = { ...defaultRetryPolicy, ...opts.retry };
    this.#signal = opts.signal;
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }

  async resolve(ctx: CallContext, selector: string): Promise<Descriptor> {
    // some registries and proxies refuse HEAD (405/501): GET answers the same question
    const res = await this.#call(ctx, {
      method: 'HEAD',
      path: `manifests/${selector}`,
      headers: { accept: MANIFEST_ACCEPT },
      ok: [200, 405, 501],
    });
    await res.body.dump();
    if (res.statusCode !== 200) return this.#resolveByGet(ctx, selector);
    const digest = header(res, 'docker-content-digest');
    const mediaType = header(res, 'content-type')?.split(';')[0]?.trim();
    const size = Number(header(res, 'content-length'));
    if (digest !== undefined && isDigest(digest) && mediaType !== undefined && Number.isInteger(size) && size > 0) {
      if (isDigest(selector) && selector !== digest)
        throw this.#mismatch(ctx, `manifest ${selector}`, selector, digest);
      if (size > MAX_MANIFEST_BYTES) throw tooLarge(ctx, selector, `is ${size} bytes`);
      return { mediaType, digest, size };
    }
    return this.#resolveByGet(ctx, selector);
  }

  async #resolveByGet(ctx: CallContext, selector: string): Promise<Descriptor> {
    const fetched = await this.fetchManifest(ctx, selector);
    this.#fetched.set(fetched.descriptor.digest, fetched);
    return fetched.descriptor;
  }

  async fetchManifest(ctx: CallContext, selector: string, expected?: Descriptor): Promise<FetchedManifest> {
    const known = this.#fetched.get(expected?.digest ?? selector);
    if (known !== undefined && (expected === undefined || expected.size === known.bytes.length)) return known;
    if (expected !== undefined && expected.size > MAX_MANIFEST_BYTES)
      throw tooLarge(ctx, selector, `is ${expected.size} bytes by its descriptor`);
    const res = await this.#call(ctx, {
      method: 'GET',
      path: `manifests/${selector}`,
      headers: { accept: MANIFEST_ACCEPT },
      ok: [200],
    });
    const length = Number(header(res, 'content-length'));
    if (Number.isSafeInteger(length) && length > MAX_MANIFEST_BYTES) {
      res.body.destroy();
      throw tooLarge(ctx, selector, `is ${length} bytes (Content-Length)`);
    }
    // a server that sends no length (chunked) or lies about it is cut off as soon as it passes the limit
    const bytes = await readLimited(res, MAX_MANIFEST_BYTES, () => tooLarge(ctx, selector, 'was still being sent'));
    const digest = digestOf(bytes);
    const want = expected?.digest ?? (isDigest(selector) ? selector : undefined);
    if (want !== undefined && want !== digest) throw this.#mismatch(ctx, `manifest ${selector}`, want, digest);
    const announced = header(res, 'docker-content-digest');
    if (want === undefined && announced !== undefined && announced.startsWith('sha256:') && announced !== digest) {
      throw this.#mismatch(ctx, `manifest ${selector}`, announced, digest);
    }
    if (expected !== undefined && expected.size !== bytes.length) {
      throw new RegistryError(
        `${ctx.subject}: manifest ${expected.digest} has ${bytes.length} bytes, expected ${expected.size}`,
        { code: 'DIGEST_MISMATCH' },
      );
    }
    const mediaType =
      manifestMediaType(bytes) ?? header(res, 'content-type')?.split(';')[0]?.trim() ?? MediaType.OCI_MANIFEST;
    return { descriptor: { mediaType, digest, size: bytes.length }, bytes };
  }

  async openBlob(ctx: CallContext, desc: Descriptor): Promise<Readable> {
    const open = (offset: number): Promise<HttpResponse> =>
      this.#call(ctx, {
        method: 'GET',
        path: `blobs/${desc.digest}`,
        headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
        ok: offset > 0 ? [200, 206] : [200],
      });
    const first = await open(0);
    return Readable.from(this.#resumingBody({ ctx, desc, first, open }), { objectMode: false });
  }

  async *#resumingBody(a: {
    ctx: CallContext;
    desc: Descriptor;
    first: HttpResponse;
    open: (offset: number) => Promise<HttpResponse>;
  }): AsyncGenerator<Buffer> {
    let res = a.first;
    let offset = 0;
    let failures = 0;
    try {
      for (;;) {
        let skip = offset > 0 && res.statusCode === 200 ? offset : 0; // server ignored Range: skip what we have
        try {
          for await (const chunk of res.body as AsyncIterable<Buffer>) {
            let c = chunk;
            if (skip > 0) {
              if (c.length <= skip) {
                skip -= c.length;
                continue;
              }
              c = c.subarray(skip);
              skip = 0;
            }
            offset += c.length;
            yield c;
          }
          if (offset >= a.desc.size) return;
          throw Object.assign(new Error(`the connection closed after ${offset} of ${a.desc.size} bytes`), {
            code: 'TRUNCATED',
          });
        } catch (err) {
          failures++;
          if (!isRetryableError(err) || failures >= this.#retry.tries) {
            if (isMobyError(err)) throw err;
            throw new RegistryError(
              this.#scrub(
                `${a.ctx.subject}: downloading blob ${a.desc.digest} failed after ${failures} ${failures === 1 ? 'attempt' : 'attempts'}`,
              ),
              {
                code: 'REGISTRY',
                method: 'GET',
                url: redactUrl(res.url),
                status: res.statusCode,
                cause: err,
              },
            );
          }
          res.body.destroy();
          await this.#retry.sleep(retryDelay(this.#retry, failures), this.#signal);
          res = await a.open(offset);
        }
      }
    } finally {
      res.body.destroy(); // done, failed, or the consumer stopped early: release the connection
    }
  }

  async pushBlob(ctx: CallContext, desc: Descriptor, data: Uint8Array | (() => Readable)): Promise<void> {
    const head = await this.#call(ctx, { method: 'HEAD', path: `blobs/${desc.digest}`, ok: [200, 404] });
    await head.body.dump();
    if (head.statusCode === 200) return;
    const start = await this.#call(ctx, {
      method: 'POST',
      path: 'blobs/uploads/',
      headers: { 'content-length': '0' },
      ok: [202],
    });
    await start.body.dump();
    const location = header(start, 'location');
    if (location === undefined)
      throw new RegistryError(`${ctx.subject}: the registry gave no upload location`, { code: 'REGISTRY' });
    const url = new URL(location, start.url);
    url.searchParams.set('digest', desc.digest);
    const put = await this.#call(ctx, {
      method: 'PUT',
      path: url.toString(),
      body: data,
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(data instanceof Uint8Array ? data.length : desc.size),
      },
      ok: [201, 204],
    });
    await put.body.dump();
  }

  /**
   * PUTs a manifest. The distribution registry answers DIGEST_INVALID to bytes whose digest we computed when
   * other clients push the same manifest at the same moment (its storage reads a blob another write is
   * replacing): the same bytes are sent again, a bounded number of times, as for any transient failure.
   */
  async pushManifest(ctx: CallContext, bytes: Uint8Array, mediaType: string, tag?: string): Promise<Digest> {
    const digest = digestOf(bytes);
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.#call(ctx, {
          method: 'PUT',
          path: `manifests/${tag ?? digest}`,
          body: bytes,
          headers: { 'content-type': mediaType },
          ok: [200, 201, 204],
        });
        await res.body.dump();
        return digest;
      } catch (err) {
        if (
          !(err instanceof RegistryError) ||
          !err.registryCodes.includes('DIGEST_INVALID') ||
          attempt >= this.#retry.tries
        )
          throw err;
        await this.#retry.sleep(retryDelay(this.#retry, attempt), this.#signal);
      }
    }
  }

  async listTags(ctx: CallContext): Promise<string[]> {
    const tags: string[] = [];
    let path = 'tags/list?n=1000';
    for (let page = 0; page < 1000; page++) {
      const res = await this.#call(ctx, { method: 'GET', path, ok: [200, 404] });
      const bytes = await readLimited(
        res,
        MAX_MANIFEST_BYTES,
        () => new RegistryError(`${ctx.subject}: the tag list is larger than 4 MiB`, { code: 'REGISTRY' }),
      );
      if (res.statusCode === 404) return tags;
      const body = JSON.parse(bytes.toString('utf8')) as { tags?: unknown };
      if (Array.isArray(body.tags)) tags.push(...body.tags.filter((t): t is string => typeof t === 'string'));
      const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header(res, 'link') ?? '')?.[1];
      if (next === undefined) return tags;
      path = new URL(next, res.url).toString();
    }
    return tags;
  }

  #mismatch(ctx: CallContext, what: string, expected: string, actual: string): RegistryError {
    return new RegistryError(
      `${ctx.subject}: ${what} does not match its digest (expected ${expected}, got ${actual})`,
      { code: 'DIGEST_MISMATCH' },
    );
  }

  #scrub(text: string): string {
    return redactText(text, this.#auth.secrets());
  }

  async #scheme(registry: string): Promise<'https' | 'http'> {
    if (!needsProbe(registry, (h) => this.#transport.isInsecure(h))) return 'https';
    let p = this.#schemes.get(registry);
    if (p === undefined) {
      p = this.#transport
        .send({ method: 'GET', url: new URL(`https://${registry}/v2/`), headers: { 'user-agent': this.#userAgent } })
        .then(
          async (r) => {
            await r.body.dump();
            return 'https' as const;
          },
          (err: unknown) => (isTlsVerifyError(err) ? ('https' as const) : ('http' as const)),
        );
      this.#schemes.set(registry, p);
    }
    return p;
  }

  /** One API call: mirrors first (on any failure the next endpoint is tried), then the registry; returns an `ok` response. */
  async #call(ctx: CallContext, req: ApiRequest): Promise<HttpResponse> {
    const registry = canonicalRegistry(ctx.ref.registry);
    const endpoints = endpointsFor(
      registry,
      this.#mirrors,
      await this.#scheme(ctx.ref.registry),
      ctx.action === 'pull',
    );
    let lastError: unknown;
    for (const ep of endpoints.filter((e) => !this.#failedMirrors.has(e.base))) {
      try {
        return await this.#callEndpoint(ctx, ep, req);
      } catch (err) {
        lastError = err;
        if (!ep.mirror) throw err; // a failing mirror (down, 404, auth) never hides the registry itself
        this.#failedMirrors.add(ep.base);
      }
    }
    throw lastError;
  }

  async #callEndpoint(ctx: CallContext, ep: Endpoint, req: ApiRequest): Promise<HttpResponse> {
    const url = /^https?:\/\//.test(req.path)
      ? new URL(req.path)
      : new URL(`${ep.base}/v2/${ctx.ref.repository}/${req.path}`);
    const scope = `repository:${ctx.ref.repository}:${ctx.action === 'push' ? 'pull,push' : 'pull'}`;
    let answered = false;
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...req.headers };
      const authorization = this.#auth.cached(ep.host, scope);
      if (authorization !== undefined) headers.authorization = authorization;
      let res: HttpResponse;
      try {
        const body = typeof req.body === 'function' ? req.body() : req.body;
        res = await this.#transport.send({
          method: req.method,
          url,
          headers,
          ...(body === undefined ? {} : { body }),
          ...(this.#signal === undefined ? {} : { signal: this.#signal }),
        });
      } catch (err) {
        this.#signal?.throwIfAborted(); // interrupted: not a registry problem, do not dress it up as one
        if (isRetryableError(err) && attempt < this.#retry.tries) {
          await this.#retry.sleep(retryDelay(this.#retry, attempt), this.#signal);
          continue;
        }
        const tls = isTlsVerifyError(err);
        throw new RegistryError(
          this.#scrub(
            `${ctx.subject}: cannot reach ${ep.host}${tls ? ': TLS certificate not trusted' : ''}${attempt > 1 ? ` (after ${attempt} attempts)` : ''}`,
          ),
          {
            code: 'REGISTRY',
            method: req.method,
            url: redactUrl(url),
            cause: err,
            ...(tls
              ? { hint: `pass the registry's CA with --cert-file, or allow it with --insecure-registry ${ep.host}` }
              : {}),
          },
        );
      }
      if (res.statusCode === 401 && !answered) {
        const challenge = parseChallenge(res.headers['www-authenticate']);
        await res.body.dump();
        if (challenge !== undefined) {
          await this.#auth.answer(ep.host, scope, challenge, ctx.subject);
          answered = true;
          attempt--;
          continue;
        }
        throw await this.#httpError(ctx, req, res, attempt);
      }
      if (isRetryableStatus(res.statusCode) && attempt < this.#retry.tries) {
        const retryAfter = header(res, 'retry-after');
        await res.body.dump();
        await this.#retry.sleep(retryDelay(this.#retry, attempt, retryAfter), this.#signal);
        continue;
      }
      if (req.ok.includes(res.statusCode)) return res;
      throw await this.#httpError(ctx, req, res, attempt);
    }
  }

  async #httpError(ctx: CallContext, req: ApiRequest, res: HttpResponse, attempts: number): Promise<RegistryError> {
    const text = req.method === 'HEAD' ? '' : await res.body.text().catch(() => '');
    const { codes, messages } = parseErrorBody(text);
    const status = res.statusCode;
    const where = `${req.method} ${redactUrl(res.url)} → HTTP ${status}${codes.length > 0 ? ` ${codes.join(', ')}` : ''}`;
    const tries = attempts > 1 ? `, after ${attempts} attempts` : '';
    const hub = canonicalRegistry(ctx.ref.registry) === 'docker.io';
    const [code, detail, hint] = classify(status, codes, messages, hub, ctx);
    return new RegistryError(this.#scrub(`${ctx.subject}: ${detail} (${where}${tries})`), {
      code,
      method: req.method,
      url: redactUrl(res.url),
      status,
      registryCodes: codes,
      ...(hint === undefined ? {} : { hint }),
    });
  }
}

/** A manifest or index past the 4 MiB every distribution client refuses; `how` says how we know. */
function tooLarge(ctx: CallContext, selector: string, how: string): RegistryError {
  return new RegistryError(
    `${ctx.subject}: manifest ${selector} ${how}, more than the 4 MiB (${MAX_MANIFEST_BYTES} bytes) limit for manifests and indexes`,
    { code: 'REGISTRY' },
  );
}
