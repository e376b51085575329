/** The one place that maps errors to text and exit codes (docs/architecture.md#errors). */
import { CommanderError } from 'commander';
import { isMobyError } from '../util/errors.ts';
import { versionLine } from './version.ts';

export interface RenderedError {
  text: string;
  exitCode: number;
}

export function renderError(err: unknown): RenderedError {
  if (isMobyError(err)) {
    const hint = err.hint === undefined ? '' : `\nhint: ${err.hint}`;
    return { text: `Error: ${err.message}${hint}\n`, exitCode: err.exitCode };
  }
  if (err instanceof CommanderError) {
    // commander already printed its message; only the exit code is ours to decide.
    const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0;
    return { text: '', exitCode: ok ? 0 : 2 };
  }
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return {
    text:
      `Error: internal error — this is a bug in mobyts, please report it with the lines below.\n` +
      `${versionLine()}\n${detail}\n`,
    exitCode: 70,
  };
}
