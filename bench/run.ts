/**
 * `npm run bench`: generates inputs, serves them from the real registry on 127.0.0.1, measures `mobyts build`
 * (cold, warm, rebuild, formats) against floors measured in the same run, prints a markdown report and
 * writes it to bench/results/latest.md (and latest.json).
 *
 *   npm run bench                       full mode (minutes; the 2 GiB case dominates)
 *   npm run bench -- --small            tiny inputs, one run each (also BENCH_SMALL=1): checks the bench works
 *   npm run bench -- --cases ref,img1   only these cases
 *   npm run bench -- --out FILE         write the markdown there instead of bench/results/latest.md
 *   npm run bench -- --cpu-prof         also profile one warm build per case (bench/results/profiles/<case>/)
 *   npm run bench -- --keep             keep each case's directory (spec, cache) to reproduce a failure or profile a build
 *   npm run bench -- --startup          only the start-up rows (node -e 0, --version, validate; compiled too)
 *   npm run bench -- --linuxkit PATH    also time LinuxKit's warm build of each case (also LINUXKIT=PATH)
 *   npm run bench -- --no-formats       skip the output-format rows (kernel+initrd only)
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startFaultProxy } from '../test/helpers/fault-proxy.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import { benchConfig } from './lib/cases.ts';
import { prepareCompiled } from './lib/compiled.ts';
import { contentPool } from './lib/content.ts';
import { killRunning, measuringTool, REPO } from './lib/measure.ts';
import { measureRemote, remoteTarget, type RemoteRow } from './lib/remote.ts';
import { runCase, type CaseOutcome } from './lib/run-case.ts';
import { codeFloorTargets, measureStartup, startupTargets } from './lib/startup.ts';
import { renderReport, type StartupResult } from './lib/table.ts';
import { evaluateTargets } from './lib/targets.ts';

interface Args {
  small: boolean;
  cases?: string[];
  out: string;
  /** Keep the directory (spec, cache, outputs) of a case whose build failed, to reproduce it. */
  keep: boolean;
  /** Profile one extra warm build per case (`node --cpu-prof`) into bench/results/profiles/. */
  cpuProf: boolean;
  /** Only the start-up rows and their targets (no build case). */
  startupOnly: boolean;
  /** LinuxKit to measure side by side. */
  linuxkit?: string;
  /** Skip the output-format measurements. */
  noFormats: boolean;
}

function parse(): Args {
  const { values } = parseArgs({
    options: {
      small: { type: 'boolean' },
      cases: { type: 'string' },
      out: { type: 'string' },
      keep: { type: 'boolean' },
      'cpu-prof': { type: 'boolean' },
      startup: { type: 'boolean' },
      linuxkit: { type: 'string' },
      'no-formats': { type: 'boolean' },
    },
  });
  const linuxkit = values.linuxkit ?? process.env['LINUXKIT'];
  return {
    small: values.small === true || process.env['BENCH_SMALL'] === '1',
    ...(values.cases === undefined ? {} : { cases: values.cases.split(',') }),
    out: resolve(values.out ?? join(REPO, 'bench/results/latest.md')),
    keep: values.keep === true,
    cpuProf: values['cpu-prof'] === true,
    startupOnly: values.startup === true,
    noFormats: values['no-formats'] === true,
    ...(linuxkit === undefined || linuxkit === '' ? {} : { linuxkit: resolve(linuxkit) }),
  };
}

const log = (msg: string): void => {
  process.stderr.write(`bench: ${msg}\n`);
};
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function main(): Promise<void> {
  const args = parse();
  const cfg = benchConfig(args.small);
  const cases = args.startupOnly
    ? []
    : cfg.cases
        .filter((c) => args.cases?.includes(c.id) ?? true)
        .map((c) => (args.noFormats ? { ...c, formats: false } : c));
  const started = performance.now();
  const loadBefore = load();
  const dir = await mkdtemp(join(tmpdir(), 'mobyts-bench-'));
  const reg = await startRegistry();
  const proxy = await startFaultProxy(reg.url);
  const results: CaseOutcome[] = [];
  /** Runners A and B sharing a remote cache, measured on a case of `ref`'s shape when `ref` runs (docs/scale.md#figures). */
  let remote: RemoteRow | Error | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping the registry and removing ${dir}`);
    killRunning();
    void proxy
      .stop()
      .then(() => reg.stop())
      .then(() => rm(dir, { recursive: true, force: true }))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await mkdir(join(dir, 'home'));
    await mkdir(join(dir, 'tmp'));
    // Builds run the CLI as `npm install -g` users get it: bundled as the package ships it (no type stripping at start-up).
    const bin = cfg.compiled
      ? await prepareCompiled(join(dir, 'compiled-cli')).catch((err: unknown) => {
          log(`cannot compile the CLI (${(err as Error).message}): the builds run from the sources`);
          return undefined;
        })
      : undefined;
    const run = {
      scratch: dir,
      env: { PATH: process.env['PATH'] ?? '', HOME: join(dir, 'home'), TMPDIR: join(dir, 'tmp'), TZ: 'UTC', LANG: 'C' },
      ...(bin === undefined ? {} : { bin }),
    };
    const pool = contentPool(cfg.poolBytes);
    let start: StartupResult[] = [];
    const write = async (final: boolean): Promise<string> => {
      const info = {
        mode: cfg.small ? ('small' as const) : ('full' as const),
        date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
        node: process.versions.node,
        machine: `${cpus().length} vCPU (${cpus()[0]?.model.trim() ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${release()}`,
        loadBefore,
        loadAfter: load(),
        measuring: measuringTool(),
        totalS: (performance.now() - started) / 1000,
        peer: args.linuxkit ?? 'peer skipped (no --linuxkit PATH)',
      };
      const report =
        renderReport(info, start, results, [
          ...startupTargets(start),
          ...evaluateTargets(results),
          ...codeFloorTargets(
            start,
            results.find((r) => r.id === 'ref'),
            cpus().length,
          ),
          remoteTarget(remote),
        ]) + (final ? '' : '\n_Partial: the bench is still running._\n');
      await mkdir(dirname(args.out), { recursive: true });
      await writeFile(args.out, report);
      await writeFile(
        args.out.replace(/\.md$/, '') + '.json',
        `${JSON.stringify({ info, startup: start, results, remote: remote instanceof Error ? { failed: remote.message } : remote }, null, 2)}\n`,
      );
      return report;
    };
    for (const c of cases) {
      const caseDir = join(dir, c.id);
      await mkdir(caseDir);
      const outcome = await runCase(c, {
        cfg,
        host: reg.host,
        pool,
        dir: caseDir,
        run,
        log,
        ...(args.cpuProf ? { profileDir: join(dirname(args.out), 'profiles') } : {}),
        ...(args.linuxkit === undefined ? {} : { linuxkit: args.linuxkit }),
      });
      results.push(outcome);
      if (c.id === 'ref') {
        const ref = { spec: join(caseDir, 'ref.yml'), cache: join(caseDir, 'cache') };
        start = await measureStartup({ runs: cfg.startupRuns, compiled: cfg.compiled, dir: caseDir, ref, log }, run);
        const remoteDir = join(dir, 'remote');
        await mkdir(remoteDir);
        remote = await measureRemote(
          { ...c, id: 'remote', formats: false },
          {
            cfg,
            pool,
            proxy,
            upstream: reg.url,
            dir: remoteDir,
            env: run.env,
            log,
            ...(bin === undefined ? {} : { bin }),
          },
        ).catch((err: unknown) => err as Error);
        await rm(remoteDir, { recursive: true, force: true });
      }
      if (args.keep) log(`kept ${caseDir} (its cache holds every image: rebuild offline with the command above)`);
      else await rm(caseDir, { recursive: true, force: true });
      await write(false);
    }
    if (!cases.some((c) => c.id === 'ref')) {
      const startDir = join(dir, 'startup');
      await mkdir(startDir);
      start = await measureStartup({ runs: cfg.startupRuns, compiled: cfg.compiled, dir: startDir, log }, run);
    }
    process.stdout.write(await write(true));
    log(`wrote ${args.out}`);
  } finally {
    await proxy.stop();
    await reg.stop();
    if (!args.keep) await rm(dir, { recursive: true, force: true });
  }
}

await main();
