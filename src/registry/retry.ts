/**
 * Bounded retries with exponential backoff (429, 5xx, connection resets), honouring `Retry-After`.
 * Delays are injectable (`sleep`, `baseDelayMs`, `maxDelayMs`) so fault tests stay fast.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface RetryPolicy {
  /** Total attempts, first one included. */
  tries: number;
  baseDelayMs: number;
  /** Upper bound for any single wait, `Retry-After` included. */
  maxDelayMs: number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const defaultRetryPolicy: RetryPolicy = {
  tries: 5,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  sleep: (ms, signal) => delay(ms, undefined, signal === undefined ? undefined : { signal }),
};

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RESPONSE_STATUS_CODE',
  'PREMATURE_CLOSE',
  'TRUNCATED',
]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUS.has(status);
}

/** Network-level failures worth another attempt (resets, refused, timeouts); never HTTP-level refusals. */
export function isRetryableError(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e instanceof Error; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && RETRYABLE_CODES.has(code)) return true;
    if (e.message === 'other side closed' || e.message === 'terminated') return true;
    e = e.cause;
  }
  return false;
}

/** The wait before attempt `attempt + 1` (attempt counts from 1): Retry-After when given, else backoff; capped. */
export function retryDelay(policy: RetryPolicy, attempt: number, retryAfter?: string): number {
  const fromHeader = parseRetryAfter(retryAfter);
  const backoff = policy.baseDelayMs * 2 ** (attempt - 1);
  return Math.min(policy.maxDelayMs, fromHeader ?? backoff);
}

function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
