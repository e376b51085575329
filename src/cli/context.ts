/** What a command gets from the CLI shell: where to write, what to report to, and when to stop. */
import type { Writable } from 'node:stream';
import type { Reporter } from '../util/reporter.ts';

export interface CliContext {
  stdout: Writable;
  stderr: Writable;
  /** Aborted on SIGINT/SIGTERM; long operations pass it down and clean up their temp files. */
  signal: AbortSignal;
  /** Set by the global --progress/-q/-v flags before any action runs. */
  reporter: Reporter;
  /** Sets the exit code without throwing (e.g. `validate` found problems it already printed). */
  setExitCode(code: number): void;
}
