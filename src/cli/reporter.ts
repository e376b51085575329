/** Reporters the CLI offers: TTY progress, plain lines (CI), JSON lines. All write to stderr. */
import type { Writable } from 'node:stream';
import type { Reporter, ReportEvent } from '../util/reporter.ts';
import { chainLines } from './render-error.ts';

export type ProgressMode = 'auto' | 'tty' | 'plain' | 'json';

export interface ReporterOptions {
  mode: ProgressMode;
  quiet: boolean;
  verbose: number;
}

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

export { formatBytes };

function plainLine(e: ReportEvent): string | undefined {
  switch (e.type) {
    case 'info':
      return e.message;
    case 'warn':
      return [`Warning: ${e.message}`, ...chainLines(e.message, e.cause)].join('\n');
    case 'debug':
      return e.message;
    case 'progress':
      return undefined;
    case 'done': {
      const size = e.bytes === undefined ? '' : ` ${formatBytes(e.bytes)}`;
      const rate =
        e.bytes !== undefined && e.seconds !== undefined && e.seconds > 0
          ? ` (${formatBytes(e.bytes / e.seconds)}/s)`
          : '';
      return `${e.subject}:${size}${rate} done`;
    }
  }
}

/** The event's fields as JSON: a warning's cause as its `caused by:` texts (`causes`), not an empty `{}`. */
function jsonFields(e: ReportEvent): object {
  if (e.type !== 'warn' || e.cause === undefined) return e;
  const { cause, ...rest } = e;
  return { ...rest, causes: chainLines(e.message, cause).map((l) => l.slice('caused by: '.length)) };
}

export function createReporter(out: Writable & { isTTY?: boolean }, opts: ReporterOptions): Reporter {
  const mode = opts.mode === 'auto' ? (out.isTTY === true ? 'tty' : 'plain') : opts.mode;
  const wanted = (e: ReportEvent): boolean =>
    !(opts.quiet && e.type !== 'warn') &&
    !(e.type === 'debug' && opts.verbose < 2) &&
    !(opts.verbose < 1 && e.type === 'info');
  if (mode === 'json') {
    return {
      emit: (e) => {
        if (wanted(e)) out.write(`${JSON.stringify({ time: new Date().toISOString(), ...jsonFields(e) })}\n`);
      },
    };
  }
  let lastProgress = 0;
  return {
    emit: (e) => {
      if (!wanted(e)) return;
      if (e.type === 'progress') {
        if (mode !== 'tty' || Date.now() - lastProgress < 100) return;
        lastProgress = Date.now();
        const total = e.total === undefined ? '' : ` / ${e.unit === 'bytes' ? formatBytes(e.total) : e.total}`;
        const done = e.unit === 'bytes' ? formatBytes(e.done) : String(e.done);
        out.write(`\r\x1b[K${e.subject}: ${done}${total}`);
        return;
      }
      const line = plainLine(e);
      if (line !== undefined) out.write(`${mode === 'tty' ? '\r\x1b[K' : ''}${line}\n`);
    },
  };
}
