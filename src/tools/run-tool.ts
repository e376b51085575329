/**
 * The only code that spawns external programs for the formats (docs/architecture.md#tools). Every run gets a pinned,
 * reproducible environment (SOURCE_DATE_EPOCH, TZ=UTC, LC_ALL=C) and fails with a MobyError carrying the tool,
 * its argv and the tail of its stderr.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { ToolRequirement } from './requirement.ts';
import { errnoDetail, MobyError } from '../util/errors.ts';

export interface RunToolOptions {
  cwd?: string;
  /** Extra environment variables, layered over the pinned ones. */
  env?: Record<string, string>;
  /** Seconds since the epoch; exported as SOURCE_DATE_EPOCH. */
  sourceDateEpoch?: number;
  signal?: AbortSignal;
  /** A file streamed to the tool's stdin (default: no stdin). */
  stdin?: string;
  /** A file that receives the tool's stdout (default: captured, up to 1 MiB). */
  stdout?: string;
}

export interface RunToolResult {
  /** Captured stdout (empty when redirected to a file). */
  stdout: string;
  stderr: string;
}

const TAIL = 4000;
const CAPTURE = 1 << 20;

/** The environment every tool runs with: the caller's PATH/HOME and nothing that varies between builds. */
export function toolEnv(opts: Pick<RunToolOptions, 'env' | 'sourceDateEpoch'>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/' };
  if (process.env.TMPDIR !== undefined) base.TMPDIR = process.env.TMPDIR;
  const sde = opts.sourceDateEpoch === undefined ? {} : { SOURCE_DATE_EPOCH: String(opts.sourceDateEpoch) };
  return { ...base, TZ: 'UTC', LC_ALL: 'C', MTOOLS_SKIP_CHECK: '1', ...sde, ...opts.env };
}

/**
 * A file path as a tool argument that no tool reads as an option or a protocol: a relative path gets `./`
 * (so `-rf.img` is not an option and qemu-img does not take `a:b.qcow2` for a `a:` protocol), an absolute one
 * is unchanged. Every path a tool takes positionally goes through this.
 */
export function pathArg(path: string): string {
  return isAbsolute(path) || path.startsWith('./') ? path : `./${path}`;
}

function commandOf(tool: ToolRequirement | string): string {
  return typeof tool === 'string' ? tool : tool.command;
}

/**
 * Runs `tool argv` to completion. Resolves when it exits 0; rejects with MobyError TOOL_FAILED (tool, argv,
 * exit status, stderr tail) otherwise, or INTERRUPTED when `signal` aborts (the child is killed). A failed run
 * may leave partial files at `stdout`; callers write into scratch paths and rename on success.
 */
export async function runTool(
  tool: ToolRequirement | string,
  argv: readonly string[],
  opts: RunToolOptions = {},
): Promise<RunToolResult> {
  const command = commandOf(tool);
  opts.signal?.throwIfAborted();
  const child = spawn(command, argv, {
    cwd: opts.cwd,
    env: toolEnv(opts),
    stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  const out = collect(child.stdout!, opts.stdout);
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => void (stderr = (stderr + d).slice(-TAIL)));
  if (opts.stdin !== undefined && child.stdin !== null)
    createReadStream(opts.stdin)
      .on('error', (e) => child.stdin?.destroy(e))
      .pipe(child.stdin);
  const status = await exitOf(child);
  const stdout = await out;
  if (opts.signal?.aborted === true)
    throw new MobyError(`Interrupted while running "${command}"`, { code: 'INTERRUPTED', cause: opts.signal.reason });
  if (status.error !== undefined)
    throw toolFailed(command, argv, `cannot start it${errnoDetail(status.error)}`, stderr, status.error);
  if (status.code !== 0)
    throw toolFailed(
      command,
      argv,
      status.code === null ? `killed by ${status.signal}` : `exit status ${status.code}`,
      stderr,
    );
  return { stdout, stderr };
}

interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

function exitOf(child: ReturnType<typeof spawn>): Promise<ExitStatus> {
  return new Promise((resolve) => {
    let error: Error | undefined;
    child.on('error', (e) => void (error = e));
    child.on('close', (code, signal) => resolve(error === undefined ? { code, signal } : { code, signal, error }));
  });
}

function collect(stream: NodeJS.ReadableStream, path: string | undefined): Promise<string> {
  if (path !== undefined) {
    return new Promise((resolve, reject) => {
      const file = createWriteStream(path);
      file.on('error', reject).on('finish', () => resolve(''));
      stream.pipe(file);
    });
  }
  return new Promise((resolve) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => void (text.length < CAPTURE && (text += d)));
    stream.on('end', () => resolve(text));
  });
}

/** A tool exited non-zero (or could not start): carries the tool, its argv and the tail of its stderr. */
export class ToolFailedError extends MobyError {
  readonly tool: string;
  readonly argv: readonly string[];
  readonly stderrTail: string;

  constructor(command: string, argv: readonly string[], detail: string, stderr: string, cause?: unknown) {
    const tail = stderr.trim() === '' ? '' : `\n${stderr.trimEnd().split('\n').slice(-15).join('\n')}`;
    super(`Running "${command}" failed: ${detail}\n  argv: ${[command, ...argv].map(quote).join(' ')}${tail}`, {
      code: 'TOOL_FAILED',
      cause,
    });
    this.tool = command;
    this.argv = [...argv];
    this.stderrTail = stderr.slice(-TAIL);
  }
}

function toolFailed(
  command: string,
  argv: readonly string[],
  detail: string,
  stderr: string,
  cause?: unknown,
): ToolFailedError {
  return new ToolFailedError(command, argv, detail, stderr, cause);
}

function quote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * Pipes `input` through `tool argv` and resolves with its stdout. Rejects with MobyError TOOL_MISSING when the
 * program is not installed (with the requirement's install hint) and TOOL_FAILED when it exits non-zero.
 */
export function runToolFilter(tool: ToolRequirement, argv: readonly string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool.command, argv, { env: toolEnv({}), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.setEncoding('utf8').on('data', (d: string) => void (stderr = (stderr + d).slice(-TAIL)));
    child.stdin.on('error', () => {}); // EPIPE when the tool dies early: reported through 'close'
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(
        e.code === 'ENOENT'
          ? new MobyError(`Cannot run "${tool.command}": it is not installed (needed because it ${tool.why})`, {
              code: 'TOOL_MISSING',
              hint: tool.install.debian,
            })
          : toolFailed(tool.command, argv, `cannot start it${errnoDetail(e)}`, stderr, e),
      );
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(out));
      else
        reject(toolFailed(tool.command, argv, code === null ? `killed by ${signal}` : `exit status ${code}`, stderr));
    });
    child.stdin.end(input);
  });
}

export function runToolSync(
  tool: ToolRequirement | string,
  argv: readonly string[],
  input: Buffer,
): Buffer | undefined {
  const r = spawnSync(commandOf(tool), argv, { input, env: toolEnv({}), maxBuffer: 1 << 30 });
  return r.status === 0 ? r.stdout : undefined;
}
