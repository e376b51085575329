/** Small helpers of the registry client: response headers, bounded reads, error classification. */
import { MediaType } from '../oci/types.ts';
import type { MobyError } from '../util/errors.ts';
import type { CallContext } from './call-context.ts';
import type { HttpResponse } from './transport.ts';

/** The error code, detail and hint for an HTTP failure status (Docker Hub gets its own 429 wording). */
export function classify(
  status: number,
  codes: string[],
  messages: string[],
  hub: boolean,
  ctx: CallContext,
): [MobyError['code'], string, string | undefined] {
  const said = messages[0];
  if (status === 429) {
    return hub
      ? [
          'REGISTRY',
          'Docker Hub pull rate limit reached',
          'log in with `docker login` to raise the limit, wait a few hours, or use --mirror',
        ]
      : ['REGISTRY', 'the registry is rate limiting requests (too many requests)', 'wait and try again'];
  }
  if (status === 401)
    return [
      'AUTH',
      `not authorized${said === undefined ? '' : `: ${said}`}`,
      'log in with `docker login`/`podman login`, or set MOBYTS_REGISTRY_USER/MOBYTS_REGISTRY_PASSWORD',
    ];
  if (status === 403)
    return [
      'AUTH',
      `access denied${said === undefined ? '' : `: ${said}`}`,
      'check that your account may pull this repository',
    ];
  if (status === 404) {
    const what = codes.includes('BLOB_UNKNOWN')
      ? 'blob unknown'
      : codes.includes('NAME_UNKNOWN')
        ? 'repository not found'
        : 'manifest unknown';
    return ['NOT_FOUND', what, `check that "${ctx.ref.expanded}" exists and is spelled right`];
  }
  if (status >= 500) return ['REGISTRY', `the registry failed${said === undefined ? '' : `: ${said}`}`, undefined];
  return ['REGISTRY', `unexpected response${said === undefined ? '' : `: ${said}`}`, undefined];
}

/** A server that speaks TLS but whose certificate we do not trust (no point falling back to http). */
export function isTlsVerifyError(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e instanceof Error; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) return true;
    e = e.cause;
  }
  return false;
}

export function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export async function readLimited(res: HttpResponse, limit: number, tooBig: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) {
      res.body.destroy();
      throw tooBig();
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

export function manifestMediaType(bytes: Buffer): string | undefined {
  try {
    const m = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown };
    if (typeof m.mediaType === 'string') return m.mediaType;
    return Array.isArray(m.manifests) ? MediaType.OCI_INDEX : MediaType.OCI_MANIFEST;
  } catch {
    return undefined;
  }
}
