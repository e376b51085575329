/**
 * The start-up rows: a bare `node -e 0` (the floor: what any Node CLI pays), `mobyts --version` and `mobyts
 * validate` of a small spec (examples/minimal.yml) from the sources, and the same two bundled as the
 * published package runs them (bench/lib/compiled.ts), plus a warm build when the `ref` case left its cache.
 * Runs are interleaved (node, version, validate, … then again) so load changes on a shared machine hit every
 * row alike; medians are reported. The targets judge the compiled rows against the same run's `node -e 0`.
 */
import { copyFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { prepareCompiled } from './compiled.ts';
import { REPO, runMobyts, summarise, type RunOptions, type Sample } from './measure.ts';
import type { CaseOutcome } from './run-case.ts';
import type { StartupResult } from './table.ts';
import type { TargetRow } from './targets.ts';

interface Row {
  id: string;
  command: string;
  args: string[];
  /** The script node runs; `-e` with args ['0'] makes the row a bare `node -e 0`. */
  bin?: string;
}

export interface StartupOptions {
  runs: number;
  compiled: boolean;
  /** Scratch directory (the compiled copy and the spec go here). */
  dir: string;
  /** The `ref` case's spec and warm cache, for the compiled warm-build row; omitted when `ref` did not run. */
  ref?: { spec: string; cache: string };
  log: (msg: string) => void;
}

/** Measures every start-up row; a compiled copy that cannot be built is logged and its rows left out. */
export async function measureStartup(o: StartupOptions, run: Omit<RunOptions, 'cwd'>): Promise<StartupResult[]> {
  const spec = join(o.dir, 'minimal.yml');
  const sources = join(REPO, 'bin/mobyts.js');
  await copyFile(join(REPO, 'examples/minimal.yml'), spec);
  const rows: Row[] = [
    { id: 'node', command: '`node -e 0`', args: ['0'], bin: '-e' },
    // From the checkout's sources whatever CLI the builds run (`run.bin` is the bundled one when compiled).
    { id: 'version', command: '`mobyts --version`', args: ['--version'], bin: sources },
    { id: 'validate', command: '`mobyts validate minimal.yml`', args: ['validate', spec], bin: sources },
  ];
  if (o.compiled) {
    o.log('start-up: bundling the CLI as the package ships it');
    try {
      const bin = await prepareCompiled(join(o.dir, 'compiled'));
      rows.push(
        { id: 'version-compiled', command: '`mobyts --version`, compiled (dist/)', args: ['--version'], bin },
        {
          id: 'validate-compiled',
          command: '`mobyts validate minimal.yml`, compiled (dist/)',
          args: ['validate', spec],
          bin,
        },
      );
      if (o.ref !== undefined) {
        rows.push(
          {
            id: 'build-compiled',
            command: '`mobyts build ref.yml` again, nothing changed, compiled (dist/)',
            bin,
            args: [
              'build',
              '--cache',
              o.ref.cache,
              '-f',
              'kernel+initrd',
              '-d',
              join(o.dir, 'out-compiled'),
              o.ref.spec,
            ],
          },
          await codeRow(bin, o.ref, o.dir, run),
        );
      }
    } catch (err) {
      o.log(`compiled start-up not measured: ${(err as Error).message}`);
    }
  }
  o.log(`start-up: ${rows.length} commands × ${o.runs} runs, interleaved`);
  const samples = new Map<string, Sample[]>(rows.map((r) => [r.id, []]));
  for (let i = 0; i < o.runs; i++) {
    for (const r of rows)
      samples
        .get(r.id)
        ?.push(await runMobyts(r.args, { ...run, cwd: o.dir, ...(r.bin === undefined ? {} : { bin: r.bin }) }));
  }
  return rows.map((r) => ({ id: r.id, command: r.command, runs: o.runs, sample: summarise(samples.get(r.id) ?? []) }));
}

/** Records every file a module load reads into $LOADED_LIST (node --import). */
const RECORD_LOADS = `import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const seen = [];
registerHooks({ load(url, context, next) { if (url.startsWith('file:')) seen.push(url); return next(url, context); } });
process.on('exit', () => writeFileSync(process.env.LOADED_LIST, seen.join('\\n')));
`;

/** Loads the chunks listed in argv[2], with the compile cache the CLI uses (bin/mobyts.js), and does nothing else. */
const LOAD_ONLY = `import { enableCompileCache } from 'node:module';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
const { MOBYTS_CACHE_HOME, XDG_CACHE_HOME } = process.env;
enableCompileCache(join(MOBYTS_CACHE_HOME || join(XDG_CACHE_HOME || join(homedir(), '.cache'), 'mobyts'), 'node-compile-cache'));
for (const url of readFileSync(process.argv[2], 'utf8').split('\\n'))
  if (url.includes('/dist/cli/') && !url.endsWith('/main.js')) await import(url);
`;

/**
 * The floor of a warm `ref` build that no work can lower: Node loading the modules such a build loads (recorded
 * by a load hook during one, with the section cache and the build records emptied, so every section is
 * compressed), and doing nothing else. Its wall time and peak RSS bound the warm `ref` targets (targets.ts).
 */
async function codeRow(
  bin: string,
  ref: { spec: string; cache: string },
  dir: string,
  run: Omit<RunOptions, 'cwd'>,
): Promise<Row> {
  const hook = join(dir, 'record-loads.mjs');
  const loader = join(dir, 'load-only.mjs');
  const list = join(dir, 'loaded.txt');
  await writeFile(hook, RECORD_LOADS);
  await writeFile(loader, LOAD_ONLY);
  for (const d of ['sections', 'builds', 'outputs'])
    await rm(join(ref.cache, '.mobyts', d), { recursive: true, force: true });
  const out = join(dir, 'out-code');
  await runMobyts(['build', '--cache', ref.cache, '-f', 'kernel+initrd', '-d', out, ref.spec], {
    ...run,
    cwd: dir,
    bin,
    nodeFlags: ['--import', hook],
    env: { ...run.env, LOADED_LIST: list },
  });
  await rm(out, { recursive: true, force: true });
  return {
    id: 'code-compiled',
    command: 'the modules a warm `ref` build loads, loaded and nothing else, compiled (dist/)',
    bin: loader,
    args: [list],
  };
}

const ms = (s: number): string => `${(s * 1000).toFixed(0)} ms`;

/**
 * The start-up targets (issue 13), on the compiled package: `--version` ≤ 80 ms and `validate` ≤ 200 ms wall, and
 * each ≤ 1.5 × the same run's `node -e 0` + 40 ms (the part of the budget that does not move with the machine's
 * load). Four rows, judged apart; NOT RUN when the compiled rows are missing.
 */
export function startupTargets(rows: readonly StartupResult[]): TargetRow[] {
  const node = rows.find((r) => r.id === 'node')?.sample.wallS;
  const cases = [
    ['version-compiled', '`mobyts --version`', 0.08],
    ['validate-compiled', '`mobyts validate minimal.yml`', 0.2],
  ] as const;
  return cases.flatMap(([id, what, absolute]): TargetRow[] => {
    const row = rows.find((r) => r.id === id);
    const targets = [`${what} wall, compiled`, `${what} wall, compiled, against \`node -e 0\``];
    if (row === undefined || node === undefined)
      return targets.map((target, i) => ({
        id: `startup-${id}-${i}`,
        target,
        measured: 'not run',
        limit: '',
        pass: undefined,
      }));
    const wall = row.sample.wallS;
    const relative = 1.5 * node + 0.04;
    return [
      {
        id: `startup-${id}-0`,
        target: targets[0] ?? '',
        measured: ms(wall),
        limit: `≤ ${ms(absolute)}`,
        pass: wall <= absolute,
      },
      {
        id: `startup-${id}-1`,
        target: targets[1] ?? '',
        measured: ms(wall),
        limit: `≤ 1.5 × ${ms(node)} + 40 ms = ${ms(relative)}`,
        pass: wall <= relative,
      },
    ];
  });
}

/**
 * What the floor of a warm `ref` build (`codeRow`) says of its two targets (issue 12): its modules loaded, plus
 * the single-thread gunzip + gzip-6 floor of its bytes shared perfectly by the machine's cores, against half
 * LinuxKit's warm build; and the modules' peak RSS against LinuxKit's. A floor above its limit is a target no
 * build on this machine can meet.
 */
export function codeFloorTargets(
  rows: readonly StartupResult[],
  ref: CaseOutcome | undefined,
  cores: number,
): TargetRow[] {
  const code = rows.find((r) => r.id === 'code-compiled')?.sample;
  const targets = [
    'floor of the warm `ref` build: its modules loaded + (gunzip + gzip-6 floor) ÷ cores, ÷ LinuxKit warm',
    "floor of `ref`'s peak RSS: its modules loaded, nothing else, against LinuxKit's",
  ];
  if (code === undefined || ref === undefined || !('floors' in ref))
    return targets.map((target, i) => ({
      id: `code-floor-${i}`,
      target,
      measured: 'not run',
      limit: '',
      pass: undefined,
    }));
  const floor = code.wallS + (ref.floors.gunzipLayersS + ref.floors.gzipS) / cores;
  if (!('warm' in ref.peer))
    return [`${floor.toFixed(3)} s`, `${code.maxRssMiB.toFixed(0)} MiB`].map((m, i) => ({
      id: `code-floor-${i}`,
      target: targets[i] ?? '',
      measured: `${m}, peer skipped`,
      limit: i === 0 ? '≤ 0.50 × LinuxKit' : '< LinuxKit',
      pass: undefined,
    }));
  const lk = ref.peer.warm;
  return [
    {
      id: 'code-floor-0',
      target: targets[0] ?? '',
      measured: `${(floor / lk.wallS).toFixed(2)} (${code.wallS.toFixed(3)} + (${ref.floors.gunzipLayersS.toFixed(3)} + ${ref.floors.gzipS.toFixed(3)}) ÷ ${cores} = ${floor.toFixed(3)} s vs ${lk.wallS.toFixed(3)} s)`,
      limit: '≤ 0.50',
      pass: floor <= 0.5 * lk.wallS,
    },
    {
      id: 'code-floor-1',
      target: targets[1] ?? '',
      measured: `${code.maxRssMiB.toFixed(0)} MiB`,
      limit: `< ${lk.maxRssMiB.toFixed(0)} MiB`,
      pass: code.maxRssMiB < lk.maxRssMiB,
    },
  ];
}
