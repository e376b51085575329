/**
 * Registry failures as typed values (docs/architecture.md#errors): a MobyError with the request's method, redacted URL,
 * HTTP status and the distribution spec's error codes (`MANIFEST_UNKNOWN`, `DENIED`, …). Message grammar:
 * `Cannot pull "REF": detail`.
 */
import { MobyError, type ErrorCode } from '../util/errors.ts';

export interface RegistryErrorDetails {
  code: ErrorCode;
  method?: string;
  /** Already redacted (see redact.ts). */
  url?: string;
  status?: number;
  /** `errors[].code` from the registry's JSON error body. */
  registryCodes?: string[];
  hint?: string;
  cause?: unknown;
}

export class RegistryError extends MobyError {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly status: number | undefined;
  readonly registryCodes: string[];

  constructor(message: string, details: RegistryErrorDetails) {
    super(message, {
      code: details.code,
      ...(details.hint === undefined ? {} : { hint: details.hint }),
      ...(details.cause === undefined ? {} : { cause: details.cause }),
    });
    this.name = 'RegistryError';
    this.method = details.method;
    this.url = details.url;
    this.status = details.status;
    this.registryCodes = details.registryCodes ?? [];
  }
}

/** Parses a distribution error body (`{"errors":[{"code","message"}]}`); tolerant of anything else. */
export function parseErrorBody(text: string): { codes: string[]; messages: string[] } {
  try {
    const body = JSON.parse(text) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    const errors = Array.isArray(body.errors) ? body.errors : [];
    return {
      codes: errors.map((e) => (typeof e.code === 'string' ? e.code : '')).filter((c) => c !== ''),
      messages: errors.map((e) => (typeof e.message === 'string' ? e.message : '')).filter((m) => m !== ''),
    };
  } catch {
    return { codes: [], messages: [] };
  }
}
