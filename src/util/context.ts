/**
 * What a command's library code gets from its caller (the CLI, or a test): where its results go, what to report
 * progress to, and when to stop. Exit codes and the rendering of spec problems stay with the caller: library
 * code returns or throws, it never decides how the process ends.
 */
import type { Writable } from 'node:stream';
import type { Reporter } from './reporter.ts';

export interface CommandContext {
  /** Results only (`-o -` streams the image here). */
  stdout: Writable;
  /** Human-facing lines that are results rather than progress (`reset trust pin for …`). */
  stderr: Writable;
  /** Aborted on SIGINT/SIGTERM; long operations pass it down and clean up their temp files. */
  signal: AbortSignal;
  /** Progress and log events; the CLI renders them on stderr. */
  reporter: Reporter;
}
