/**
 * Fetching a small text document over http(s) (a spec given as a URL): redirects followed, a 60 s limit, the
 * caller's abort signal honoured. Part of registry/ because it is the one module that talks to the network.
 */
import { MobyError } from '../util/errors.ts';

const FETCH_TIMEOUT_MS = 60_000;

export interface FetchTextOptions {
  /** What is fetched, for messages: `spec` → `Cannot fetch spec "URL": …`. */
  what: string;
  signal?: AbortSignal;
}

/**
 * The body of `url` as text. Fails with a MobyError (IO; INTERRUPTED when `signal` aborted): an HTTP status other
 * than 2xx names it; a network failure keeps what went wrong underneath (fetch's own `cause`) as its cause.
 */
export async function fetchText(url: string, opts: FetchTextOptions): Promise<string> {
  const timeout = AbortSignal.timeout(FETCH_TIMEOUT_MS);
  const subject = `Cannot fetch ${opts.what} "${url}"`;
  let res: Response;
  try {
    res = await fetch(url, {
      redirect: 'follow',
      signal: opts.signal === undefined ? timeout : AbortSignal.any([opts.signal, timeout]),
    });
  } catch (err) {
    const timedOut = (err as { name?: string }).name === 'TimeoutError';
    const below = (err as { cause?: unknown }).cause ?? err; // fetch wraps the real failure in "fetch failed"
    throw new MobyError(timedOut ? `${subject}: no answer within ${FETCH_TIMEOUT_MS / 1000} s` : subject, {
      code: opts.signal?.aborted === true ? 'INTERRUPTED' : 'IO',
      cause: below,
    });
  }
  if (!res.ok) throw new MobyError(`${subject}: HTTP ${res.status} ${res.statusText}`.trimEnd(), { code: 'IO' });
  return res.text();
}
