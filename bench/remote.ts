/**
 * `npm run bench:remote`: the registry as shared cache and destination (docs/scale.md), measured with the
 * real CLI against the real CNCF registry on 127.0.0.1. Two cache directories stand in for two stateless
 * runners: A builds a bench case with `--cache-to`, B (empty cache) builds it with `--cache-from`; B's
 * requests pass through a counting proxy (test/helpers/fault-proxy.ts with no faults), so the bytes B downloads
 * are counted, and the same blobs are then fetched once with `curl` for the download floor. Then one `files:`
 * entry changes (runner C), and the outputs go through `mobyts push` / `mobyts pull`. The runners run the CLI
 * bundled as the package ships it (bench/lib/compiled.ts), as `npm install -g` users run it.
 *
 *   npm run bench:remote                 the `ref` case's shape with 10 MiB and 64 MiB of data
 *   npm run bench:remote -- --small      512 KiB only (checks the script works)
 *   npm run bench:remote -- --mib 10,256 other sizes (MiB of file data, 8 images each)
 *   npm run bench:remote -- --runs 3     runner B and curl 3 times each, alternating; medians reported (and
 *                                        B's range), for a shared machine whose load changes
 *
 * Prints a markdown report; the target "B ≤ 1.10 × download" is judged PASS or MISS per size.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startFaultProxy } from '../test/helpers/fault-proxy.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import { benchConfig, MiB } from './lib/cases.ts';
import { prepareCompiled } from './lib/compiled.ts';
import { contentPool } from './lib/content.ts';
import { measureRemote, type RemoteRow } from './lib/remote.ts';

const log = (msg: string): void => {
  process.stderr.write(`bench:remote: ${msg}\n`);
};
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const s = (x: number): string => x.toFixed(3);
const mib = (x: number): string => (x / MiB).toFixed(2);

const range = (xs: number[]): string =>
  xs.length < 2 ? '' : ` (${s(Math.min(...xs))}–${s(Math.max(...xs))}, ${xs.length} runs)`;

function report(rows: RemoteRow[], info: { loadBefore: string; loadAfter: string }): string {
  const lines = [
    '# mobyts bench: remote cache and artifacts',
    '',
    `${cpus().length} vCPU (${cpus()[0]?.model.trim() ?? '?'}), node ${process.versions.node}, load before ${info.loadBefore}, after ${info.loadAfter}`,
    '',
    '## Runner A → registry → runner B',
    '',
    '| case | cold, no remote cache (s) | A cold, --cache-to (s) | B empty cache, --cache-from (s) | B downloaded: MiB (of which remote cache), requests | sections B downloaded / compressed | curl of the same (s), of the cache blobs only | B ÷ curl |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.label} | ${s(r.coldS)} | ${s(r.aS)} | ${s(r.bS)}${range(r.bRuns)} | ${mib(r.bBytes)} (${mib(r.bCacheBytes)}), ${r.bRequests} | ${r.bDownloaded} of ${r.sections} / ${r.bCompressed} | ${s(r.curlS)}${range(r.curlRuns)}, ${s(r.curlCacheS)} | ${(r.bS / r.curlS).toFixed(2)} |`,
    ),
    '',
    '## One `files:` entry changed (runner C: empty cache, --cache-from and --cache-to)',
    '',
    '| case | C (s) | sections compressed | sections downloaded | pushed |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.label} | ${s(r.cS)} | ${r.cCompressed.length} (${r.cCompressed.join(', ')}) | ${r.cDownloaded} | ${r.cPushed} |`,
    ),
    '',
    '## `mobyts push` / `mobyts pull` of the outputs',
    '',
    '| case | outputs (MiB) | push (s) | pull (s) | pulled (MiB) |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.label} | ${mib(r.outBytes)} | ${s(r.pushS)} | ${s(r.pullS)} | ${mib(r.pullBytes)} |`),
    '',
    '## Targets',
    '',
    '| target | measured | status |',
    '|---|---|---|',
    ...rows.map(
      (r) =>
        `| B ≤ 1.10 × download, \`${r.label}\` | ${s(r.bS)} s vs ${s(1.1 * r.curlS)} s | ${r.bS <= 1.1 * r.curlS ? 'PASS' : 'MISS'} |`,
    ),
    ...rows.map(
      (r) => `| B compresses nothing, \`${r.label}\` | ${r.bCompressed} | ${r.bCompressed === 0 ? 'PASS' : 'MISS'} |`,
    ),
    ...rows.map(
      (r) =>
        `| one change rebuilds one section, \`${r.label}\` | ${r.cCompressed.length} | ${r.cCompressed.length === 1 ? 'PASS' : 'MISS'} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { small: { type: 'boolean' }, mib: { type: 'string' }, runs: { type: 'string' } },
  });
  const runs = Math.max(1, Number(values.runs ?? 1));
  const sizesMiB = values.small === true ? [0.5] : (values.mib ?? '10,64').split(',').map(Number);
  const loadBefore = load();
  const dir = await mkdtemp(join(tmpdir(), 'mobyts-bench-remote-'));
  const reg = await startRegistry();
  const proxy = await startFaultProxy(reg.url);
  try {
    await mkdir(join(dir, 'home'));
    await mkdir(join(dir, 'tmp'));
    const env = {
      PATH: process.env['PATH'] ?? '',
      HOME: join(dir, 'home'),
      TMPDIR: join(dir, 'tmp'),
      TZ: 'UTC',
      LANG: 'C',
    };
    // the runners run the CLI bundled as the package ships it (as users run it), else from the sources
    const bin = await prepareCompiled(join(dir, 'compiled-cli')).catch((err: unknown) => {
      log(`cannot compile the CLI (${(err as Error).message}): the runners run from the sources`);
      return undefined;
    });
    const rows: RemoteRow[] = [];
    const cfg = { ...benchConfig(false), bzImageBytes: 4 * MiB };
    const pool = contentPool(16 * MiB);
    for (const size of sizesMiB) {
      const id = size < 1 ? `r${Math.round(size * 1024)}k` : `r${size}m`;
      const caseDir = join(dir, id);
      await mkdir(caseDir);
      rows.push(
        await measureRemote(
          { id, images: 8, dataBytes: Math.round(size * MiB) + cfg.bzImageBytes, runs: 1, formats: false },
          { cfg, pool, proxy, upstream: reg.url, dir: caseDir, env, log, runs, ...(bin === undefined ? {} : { bin }) },
        ),
      );
      await rm(caseDir, { recursive: true, force: true });
    }
    process.stdout.write(report(rows, { loadBefore, loadAfter: load() }));
  } finally {
    await proxy.stop();
    await reg.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
