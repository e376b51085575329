/** The one place that maps errors to text and exit codes (docs/architecture.md#errors). */
import { CommanderError } from 'commander';
import { redactFreeText } from '../registry/redact.ts';
import { errnoText, isMobyError, type MobyError } from '../util/errors.ts';
import { versionLine } from './version.ts';

export interface RenderedError {
  text: string;
  exitCode: number;
}

/** At most this many `caused by:` lines follow an error. */
export const MAX_CAUSES = 3;

/** One cause's text: its message, an AggregateError's parts, else its code or name (never a stack). */
function causeText(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  if (cause.message !== '') return cause.message;
  const parts =
    cause instanceof AggregateError ? (cause.errors as unknown[]).map(causeText).filter((t) => t !== '') : [];
  if (parts.length > 0) return [...new Set(parts)].join('; ');
  const code = (cause as { code?: unknown }).code;
  return typeof code === 'string' ? code : cause.name;
}

/**
 * The `caused by:` lines of `err`: its cause chain, outermost first, redacted, one line each (a multi-line
 * message keeps its first line). A cause whose text the line above already contains adds nothing and is
 * skipped; the chain is followed at most 10 deep and printed at most MAX_CAUSES lines long.
 */
export function causeLines(err: Error): string[] {
  return chainLines(err.message, err.cause);
}

/** The `caused by:` lines of `cause` and its own causes under a line reading `above` (see causeLines). */
export function chainLines(message: string, first: unknown): string[] {
  const lines: string[] = [];
  let above = message;
  let cause = first;
  for (let depth = 0; depth < 10 && cause !== undefined && cause !== null && lines.length < MAX_CAUSES; depth++) {
    const text = redactFreeText(causeText(cause).split('\n')[0]?.trim() ?? '');
    if (text !== '' && !above.includes(text)) lines.push(`caused by: ${text}`);
    if (text !== '') above = text;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return lines;
}

function renderMobyError(err: MobyError): string {
  const lines = [`Error: ${err.message}`, ...causeLines(err), ...(err.hint === undefined ? [] : [`hint: ${err.hint}`])];
  return `${lines.join('\n')}\n`;
}

/** System errors that say the machine ran out of something (space, quota) or refused a write: not bugs. */
const MACHINE_FAULTS = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EROFS', 'EIO']);

/**
 * A system error no module turned into a MobyError but that is the machine's, not ours (a full disk met by a
 * write nobody wrapped): one line naming the path when Node gives one, as wrapped errors read, never a stack.
 */
function machineFault(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException | null;
  if (typeof e?.code !== 'string' || !MACHINE_FAULTS.has(e.code)) return undefined;
  const text = errnoText(err) ?? e.code;
  return typeof e.path === 'string' ? `Cannot ${e.syscall ?? 'write'} "${e.path}": ${text}` : text;
}

export function renderError(err: unknown): RenderedError {
  if (isMobyError(err)) return { text: renderMobyError(err), exitCode: err.exitCode };
  if (err instanceof CommanderError) {
    // commander already printed its message; only the exit code is ours to decide.
    const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0;
    return { text: '', exitCode: ok ? 0 : 2 };
  }
  const machine = machineFault(err);
  if (machine !== undefined) return { text: `Error: ${machine}\n`, exitCode: 1 };
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return {
    text:
      `Error: internal error — this is a bug in mobyts, please report it with the lines below.\n` +
      `${versionLine()}\n${detail}\n`,
    exitCode: 70,
  };
}
