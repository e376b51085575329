/**
 * Library code never writes to the console: it emits events to a Reporter the CLI provides (TTY progress,
 * plain lines, or JSON lines with --progress=json; all on stderr so `-o -` can stream to stdout).
 */
export type ReportEvent =
  | { type: 'info'; message: string }
  /** `cause`: the error behind the warning; the CLI prints its chain as `caused by:` lines, as for errors. */
  | { type: 'warn'; message: string; cause?: unknown }
  | { type: 'debug'; message: string }
  | { type: 'progress'; subject: string; done: number; total?: number; unit: 'bytes' | 'items' }
  | { type: 'done'; subject: string; bytes?: number; seconds?: number };

export interface Reporter {
  emit(event: ReportEvent): void;
}

/** Discards everything; the default for library calls and tests. */
export const silentReporter: Reporter = { emit() {} };

/** Collects events in memory; for tests that assert what a user would have seen. */
export function recordingReporter(): Reporter & { events: ReportEvent[] } {
  const events: ReportEvent[] = [];
  return { events, emit: (e) => void events.push(e) };
}
