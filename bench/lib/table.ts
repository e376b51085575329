/**
 * Renders one bench run as markdown: start-up, builds, floors and ratios, formats, targets. Pure.
 */
import { formatSize } from './cases.ts';
import type { Sample } from './measure.ts';
import { isFailure, type CaseOutcome, type CaseResult } from './run-case.ts';
import type { TargetRow } from './targets.ts';

export interface RunInfo {
  mode: 'full' | 'small';
  date: string;
  node: string;
  machine: string;
  loadBefore: string;
  loadAfter: string;
  measuring: string;
  totalS: number;
  /** The LinuxKit binary measured, or why none was. */
  peer?: string;
}

export interface StartupResult {
  /** Stable id for targets: `node`, `version`, `validate`, `version-compiled`, `validate-compiled`, `build-compiled`. */
  id: string;
  command: string;
  runs: number;
  sample: Sample;
}

const sec = (x: number): string => x.toFixed(3);
const mib = (x: number): string => x.toFixed(0);

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

function startupTable(rows: StartupResult[]): string {
  return table(
    ['command', 'runs', 'wall s', 'CPU s', 'peak RSS MiB'],
    rows.map((r) => [r.command, String(r.runs), sec(r.sample.wallS), sec(r.sample.cpuS), mib(r.sample.maxRssMiB)]),
  );
}

function failedRow(r: CaseOutcome, width: number, at: number): string[] {
  const cells = Array<string>(width).fill('');
  cells[0] = r.id;
  cells[at] = `FAILED: ${isFailure(r) ? r.failed.replaceAll('|', '\\|') : ''}`;
  return cells;
}

/** Peak RSS over every mobyts build of the case. */
export function peakRss(r: CaseResult): number {
  return Math.max(r.cold.maxRssMiB, r.warm.maxRssMiB, r.again.maxRssMiB, r.rebuild.maxRssMiB);
}

function peerCells(r: CaseResult): string[] {
  return 'warm' in r.peer ? [sec(r.peer.warm.wallS), mib(r.peer.warm.maxRssMiB)] : ['skipped', ''];
}

function buildsTable(outcomes: CaseOutcome[]): string {
  return table(
    [
      'case',
      'inputs',
      'runs',
      'cold s',
      'warm s (empty section cache)',
      'warm CPU s',
      'nothing changed s',
      'one file changed s',
      'peak RSS MiB',
      'LinuxKit warm s',
      'LinuxKit RSS MiB',
      'kernel',
      'initrd',
      'cpio',
      'layers (gz)',
      'exit-13 hangs retried',
    ],
    outcomes.map((r) =>
      isFailure(r)
        ? Object.assign(failedRow(r, 16, 3), { 1: r.label })
        : [
            r.id,
            r.label,
            String(r.runs),
            sec(r.cold.wallS),
            sec(r.warm.wallS),
            sec(r.warm.cpuS),
            sec(r.again.wallS),
            sec(r.rebuild.wallS),
            mib(peakRss(r)),
            ...peerCells(r),
            formatSize(r.sizes.kernel),
            formatSize(r.sizes.initrd),
            formatSize(r.sizes.cpio),
            formatSize(r.sizes.layers),
            String(r.hangs),
          ],
    ),
  );
}

function floorsTable(outcomes: CaseOutcome[]): string {
  return table(
    [
      'case',
      'download s',
      'cat layers s',
      'gunzip layers s',
      'gzip-6 floor s',
      'zstd-3 floor s',
      'cat output s',
      'copy + rename initrd s',
      'warm ÷ gzip floor',
      'warm ÷ (gunzip + gzip floor)',
      'cold ÷ (download + warm)',
      'one file changed ÷ cold',
      'warm ÷ LinuxKit',
      'nothing changed ÷ LinuxKit',
    ],
    outcomes.map((r) => {
      if (isFailure(r)) return failedRow(r, 14, 1);
      const f = r.floors;
      const lk = 'warm' in r.peer ? r.peer.warm.wallS : undefined;
      return [
        r.id,
        sec(f.downloadS),
        sec(f.catLayersS),
        sec(f.gunzipLayersS),
        sec(f.gzipS),
        sec(f.zstdS),
        sec(f.catOutputS),
        sec(f.replaceOutputS),
        (r.warm.wallS / f.gzipS).toFixed(2),
        (r.warm.wallS / (f.gunzipLayersS + f.gzipS)).toFixed(2),
        (r.cold.wallS / (f.downloadS + r.warm.wallS)).toFixed(2),
        (r.rebuild.wallS / r.cold.wallS).toFixed(3),
        lk === undefined ? 'peer skipped' : (r.warm.wallS / lk).toFixed(2),
        lk === undefined ? 'peer skipped' : (r.again.wallS / lk).toFixed(2),
      ];
    }),
  );
}

function formatsTable(outcomes: CaseOutcome[]): string {
  const results = outcomes.filter((r): r is CaseResult => !isFailure(r));
  const rows = results.flatMap((r) =>
    r.formats.map((f) => [
      r.id,
      f.name,
      f.status,
      f.total === undefined ? '' : sec(f.total.wallS),
      f.extraS === undefined ? '' : sec(f.extraS),
      f.total === undefined ? '' : mib(f.total.maxRssMiB),
      f.bytes === undefined ? '' : formatSize(f.bytes),
      (f.note ?? '').replaceAll('|', '\\|'),
    ]),
  );
  return table(
    ['case', 'format', 'status', 'kernel+initrd+format s', 'extra s', 'peak RSS MiB', 'output size', 'note'],
    rows,
  );
}

function profiles(results: CaseResult[]): string[] {
  const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
  return results.flatMap((r) =>
    r.profile === undefined
      ? []
      : [
          '',
          `### \`${r.id}\`: ${r.profile.totalMs.toFixed(0)} ms sampled on the main thread (${r.profile.path.replace(/^.*\/bench\/results\//, 'bench/results/')})`,
          '',
          table(
            ['category', 'self ms', 'share'],
            r.profile.byCategory.map((h) => [h.name, h.selfMs.toFixed(0), pct(h.share)]),
          ),
          '',
          table(
            ['file', 'self ms', 'share'],
            r.profile.byFile.map((h) => [h.name, h.selfMs.toFixed(0), pct(h.share)]),
          ),
          '',
          table(
            ['function', 'self ms', 'share'],
            r.profile.byFunction.map((h) => [`\`${h.name}\``, h.selfMs.toFixed(0), pct(h.share)]),
          ),
        ],
  );
}

function targetsTable(rows: TargetRow[]): string {
  return table(
    ['target', 'measured', 'limit', 'result'],
    rows.map((t) => [t.target, t.measured, t.limit, t.pass === undefined ? 'NOT RUN' : t.pass ? 'PASS' : 'MISS']),
  );
}

/** The whole report. */
export function renderReport(
  info: RunInfo,
  startup: StartupResult[],
  results: CaseOutcome[],
  targets: TargetRow[],
): string {
  return [
    `# mobyts bench (${info.mode} mode)`,
    '',
    `${info.date} · Node ${info.node} · ${info.machine} · load average before ${info.loadBefore}, after ${info.loadAfter} · CPU and RSS from ${info.measuring} · bench took ${info.totalS.toFixed(0)} s · LinuxKit: ${info.peer ?? 'peer skipped'}`,
    ...(info.mode === 'small'
      ? [
          '',
          '_Small mode: tiny inputs, one run each. It checks that the bench works; the numbers and PASS/MISS mean nothing._',
        ]
      : []),
    '',
    '## Start-up',
    '',
    startupTable(startup),
    '',
    '## Builds (`-f kernel+initrd`, medians; cold = empty cache, pulled from the registry on 127.0.0.1)',
    '',
    buildsTable(results),
    '',
    '## Floors on the same bytes, and ratios',
    '',
    floorsTable(results),
    '',
    '## Output formats on top of kernel+initrd (warm)',
    '',
    formatsTable(results),
    '',
    '## Targets',
    '',
    targetsTable(targets),
    ...(results.some((r) => !isFailure(r) && r.profile !== undefined)
      ? [
          '',
          "## Where a warm build's main-thread CPU goes (`node --cpu-prof`; zlib thread-pool work is not sampled)",
          ...profiles(results.filter((r): r is CaseResult => !isFailure(r))),
        ]
      : []),
    '',
  ].join('\n');
}
