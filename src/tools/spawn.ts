/**
 * The process primitives every other module uses to run a program: `execCapture` (run to completion, output
 * captured) and `spawnProcess` (a live child whose streams the caller drives, for qemu's console). With
 * `run-tool.ts` these are the only code that imports `node:child_process`, so every program mobyts starts is
 * started here (checked by test/layers.test.ts).
 */
import { execFile, spawn } from 'node:child_process';

export interface ExecCaptureOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the program's stdin, which is then closed. */
  input?: string;
  /** Killed (SIGTERM) after this long; the rejection then has `killed: true`. */
  timeoutMs?: number;
  /** Bytes of stdout or stderr kept before the program is killed; default 1 MiB. */
  maxBuffer?: number;
  signal?: AbortSignal;
}

export interface ExecCaptureResult {
  stdout: string;
  stderr: string;
}

/**
 * A failed run: the `execFile` error (`code` = exit status, or an errno string such as `ENOENT` when the program
 * could not start) with the output it produced.
 */
export type ExecCaptureError = Error & {
  code?: number | string | null;
  killed?: boolean;
  stdout: string;
  stderr: string;
};

/**
 * Runs `command argv` (no shell unless the caller runs `sh -c`) to completion and resolves with its output;
 * rejects with an ExecCaptureError on a non-zero exit, a failure to start, a timeout or an abort.
 */
export function execCapture(
  command: string,
  argv: readonly string[],
  opts: ExecCaptureOptions = {},
): Promise<ExecCaptureResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      argv,
      {
        maxBuffer: opts.maxBuffer ?? 1 << 20,
        ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
        ...(opts.env === undefined ? {} : { env: opts.env }),
        ...(opts.timeoutMs === undefined ? {} : { timeout: opts.timeoutMs }),
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      },
      (err, stdout, stderr) => {
        if (err === null) return resolve({ stdout, stderr });
        const failed: ExecCaptureError = Object.assign(err, { stdout, stderr });
        reject(failed);
      },
    );
    child.stdin?.on('error', () => {
      /* the program exited without reading its input */
    });
    child.stdin?.end(opts.input ?? '');
  });
}

/**
 * `child_process.spawn` itself (same overloads): starts a program and hands back the live child, whose streams,
 * exit and killing the caller owns (qemu's serial console is streamed and judged while it runs, which `runTool`
 * cannot do).
 */
export const spawnProcess: typeof spawn = spawn;
