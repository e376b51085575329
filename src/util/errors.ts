/**
 * Typed user-facing errors. Every failure a user can cause or fix (bad spec, bad registry, missing tool,
 * malicious layer) is a MobyError: the CLI prints its message (and hint) without a stack trace and exits
 * with its exit code. Anything else reaching the CLI is a bug and is reported as one.
 *
 * Message grammar (docs/architecture.md#errors): the action that failed, its subject in quotes, a colon, the detail —
 * `Cannot pull "docker.io/library/alpine:3.20" for linux/arm64: no manifest for that platform`.
 * A failure from below (a system call, undici, another module's error) is wrapped with `{ cause }`, never
 * pasted into the message: the CLI prints the chain as `caused by:` lines.
 */
import { getSystemErrorMessage } from 'node:util';

export type ErrorCode =
  | 'SPEC_INVALID'
  | 'USAGE'
  | 'REGISTRY'
  | 'AUTH'
  | 'NOT_FOUND'
  | 'DIGEST_MISMATCH'
  | 'PLATFORM'
  | 'STORE'
  | 'UNSAFE_CONTENT'
  | 'IMAGE_CONFIG'
  | 'TOOL_MISSING'
  | 'TOOL_FAILED'
  | 'BUILD'
  | 'TRUST'
  | 'LOCK'
  | 'INTERRUPTED'
  | 'IO';

export interface MobyErrorOptions {
  code: ErrorCode;
  /** What to do about it, one sentence; printed on its own line as `hint: …`. */
  hint?: string;
  cause?: unknown;
  /** Process exit code; 2 for usage errors, 1 for everything else (LinuxKit exits 1 on any error). */
  exitCode?: number;
}

export class MobyError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(message: string, options: MobyErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MobyError';
    this.code = options.code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? (options.code === 'USAGE' ? 2 : 1);
  }
}

export function isMobyError(err: unknown): err is MobyError {
  return err instanceof MobyError;
}

/** A usage error (bad flags or arguments): exit code 2. */
export function usageError(message: string, hint?: string): MobyError {
  return new MobyError(message, { code: 'USAGE', exitCode: 2, ...(hint === undefined ? {} : { hint }) });
}

/**
 * A system error's code and the OS's words for it (`ENOENT: no such file or directory`), from its structured
 * fields, without the syscall and path Node appends to the message; undefined for anything else (a MobyError's
 * code is not an errno).
 */
export function errnoText(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException | null;
  if (typeof e?.code !== 'string' || typeof e.errno !== 'number') return undefined;
  return `${e.code}: ${getSystemErrorMessage(e.errno)}`;
}

/** `: ` + `errnoText(err)` for a system error, else `''`: the detail a message may add before its `{ cause }`. */
export function errnoDetail(err: unknown): string {
  const text = errnoText(err);
  return text === undefined ? '' : `: ${text}`;
}
