/**
 * Runs the real CLI (`node bin/mobyts.js ...`) as a child and measures it: wall time here, CPU time
 * (user+sys) and peak RSS of the child from `/usr/bin/time -f` (GNU time; wait4 rusage, so descendants the
 * child waited for count too). Without GNU time, a preload writes the child's own `process.resourceUsage()`
 * at exit (the node process only).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '../..');
const BIN = join(REPO, 'bin/mobyts.js');
const GNU_TIME = '/usr/bin/time';
const PRELOAD = join(import.meta.dirname, 'rusage-preload.ts');

export interface Sample {
  wallS: number;
  cpuS: number;
  maxRssMiB: number;
}

export interface RunOptions {
  env: Record<string, string>;
  cwd: string;
  /** Where the rusage record goes (overwritten). */
  scratch: string;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeFlags?: string[];
  /** The CLI entry point; default the checkout's bin/mobyts.js (runs src/*.ts unless dist/ exists). */
  bin?: string;
}

const running = new Set<ReturnType<typeof spawn>>();

/** Kills the children still running (the bench was interrupted). */
export function killRunning(): void {
  for (const c of running) c.kill('SIGKILL');
}

export function measuringTool(): string {
  return existsSync(GNU_TIME)
    ? 'GNU time (/usr/bin/time -f "%U %S %M")'
    : 'process.resourceUsage() preload (node process only)';
}

function collect(child: ReturnType<typeof spawn>): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  running.add(child);
  child.once('close', () => running.delete(child));
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8000);
  });
  child.stdout?.resume();
  return new Promise((res, rej) => {
    child.once('error', rej);
    child.once('close', (code) => res({ code, stderr }));
  });
}

async function readUsage(file: string, gnu: boolean): Promise<{ cpuS: number; maxRssMiB: number }> {
  const text = await readFile(file, 'utf8');
  if (gnu) {
    const line = text.trim().split('\n').pop() ?? '';
    const [user, sys, rssKiB] = line.split(' ').map(Number);
    return { cpuS: (user ?? NaN) + (sys ?? NaN), maxRssMiB: (rssKiB ?? NaN) / 1024 };
  }
  const u = JSON.parse(text) as { userCPUTime: number; systemCPUTime: number; maxRSS: number };
  return { cpuS: (u.userCPUTime + u.systemCPUTime) / 1e6, maxRssMiB: u.maxRSS / 1024 };
}

/** Runs `mobyts ARGS`; rejects with the stderr tail when it exits non-zero. */
export async function runMobyts(args: string[], o: RunOptions): Promise<Sample> {
  const gnu = existsSync(GNU_TIME);
  const usageFile = join(o.scratch, 'rusage');
  await rm(usageFile, { force: true });
  const node = [process.execPath, ...(o.nodeFlags ?? []), ...(gnu ? [] : ['--import', PRELOAD]), o.bin ?? BIN, ...args];
  const [cmd, ...argv] = gnu ? [GNU_TIME, '-f', '%U %S %M', '-o', usageFile, ...node] : node;
  const start = performance.now();
  const child = spawn(cmd ?? process.execPath, argv, {
    cwd: o.cwd,
    env: { ...o.env, BENCH_RUSAGE_FILE: usageFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { code, stderr } = await collect(child);
  const wallS = (performance.now() - start) / 1000;
  if (code !== 0)
    throw new Error(
      `mobyts ${args.join(' ')} exited with ${code}:\n${stderr.trim().split('\n').slice(-15).join('\n')}`,
    );
  return { wallS, ...(await readUsage(usageFile, gnu)) };
}

/** Runs a peer tool (e.g. LinuxKit) measured like `runMobyts`; rejects with the stderr tail when it fails. */
export async function runPeer(bin: string, args: string[], o: Omit<RunOptions, 'bin' | 'nodeFlags'>): Promise<Sample> {
  const gnu = existsSync(GNU_TIME);
  const usageFile = join(o.scratch, 'rusage');
  await rm(usageFile, { force: true });
  const [cmd, ...argv] = gnu ? [GNU_TIME, '-f', '%U %S %M', '-o', usageFile, bin, ...args] : [bin, ...args];
  const start = performance.now();
  const child = spawn(cmd ?? bin, argv, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const { code, stderr } = await collect(child);
  const wallS = (performance.now() - start) / 1000;
  if (code !== 0)
    throw new Error(
      `${bin} ${args.join(' ')} exited with ${code}:\n${stderr.trim().split('\n').slice(-15).join('\n')}`,
    );
  return { wallS, ...(gnu ? await readUsage(usageFile, true) : { cpuS: NaN, maxRssMiB: NaN }) };
}

/** Runs an arbitrary command, returning its wall time; rejects on failure. */
export async function timeCommand(cmd: string, args: string[], opts: { stdoutTo?: number } = {}): Promise<number> {
  const start = performance.now();
  const child = spawn(cmd, args, { stdio: ['ignore', opts.stdoutTo ?? 'ignore', 'pipe'] });
  const { code, stderr } = await collect(child);
  if (code !== 0) throw new Error(`${cmd} exited with ${code}: ${stderr.trim()}`);
  return (performance.now() - start) / 1000;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

/** Median wall and CPU over `samples`, and the highest peak RSS. */
export function summarise(samples: Sample[]): Sample {
  return {
    wallS: median(samples.map((s) => s.wallS)),
    cpuS: median(samples.map((s) => s.cpuS)),
    maxRssMiB: Math.max(...samples.map((s) => s.maxRssMiB)),
  };
}
