/**
 * Renders one bench run as markdown: start-up, builds, floors and ratios, formats, targets. Pure.
 */
import { formatSize } from './cases.ts';
import type { Sample } from './measure.ts';
import type { CaseResult } from './run-case.ts';
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
}

export interface StartupResult {
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
  return table(['command', 'runs', 'wall s', 'CPU s', 'peak RSS MiB'],
    rows.map((r) => [r.command, String(r.runs), sec(r.sample.wallS), sec(r.sample.cpuS), mib(r.sample.maxRssMiB)]));
}

function buildsTable(results: CaseResult[]): string {
  return table(['case', 'inputs', 'runs', 'cold s', 'warm s', 'warm CPU s', 'rebuild s', 'peak RSS MiB', 'kernel', 'initrd', 'cpio', 'layers (gz)'],
    results.map((r) => [r.id, r.label, String(r.runs), sec(r.cold.wallS), sec(r.warm.wallS), sec(r.warm.cpuS), sec(r.rebuild.wallS),
      mib(Math.max(r.cold.maxRssMiB, r.warm.maxRssMiB, r.rebuild.maxRssMiB)), formatSize(r.sizes.kernel), formatSize(r.sizes.initrd), formatSize(r.sizes.cpio), formatSize(r.sizes.layers)]));
}

function floorsTable(results: CaseResult[]): string {
  return table(['case', 'download s', 'cat layers s', 'gzip-6 floor s', 'zstd-3 floor s', 'cat output s', 'warm ÷ gzip floor', 'warm ÷ cat layers', 'cold ÷ (download + warm)', 'rebuild ÷ cold'],
    results.map((r) => {
      const f = r.floors;
      return [r.id, sec(f.downloadS), sec(f.catLayersS), sec(f.gzipS), sec(f.zstdS), sec(f.catOutputS),
        (r.warm.wallS / f.gzipS).toFixed(2), (r.warm.wallS / f.catLayersS).toFixed(0), (r.cold.wallS / (f.downloadS + r.warm.wallS)).toFixed(2), (r.rebuild.wallS / r.cold.wallS).toFixed(2)];
    }));
}

function formatsTable(results: CaseResult[]): string {
  const rows = results.flatMap((r) => r.formats.map((f) => [r.id, f.name, f.status,
    f.total === undefined ? '' : sec(f.total.wallS), f.extraS === undefined ? '' : sec(f.extraS),
    f.total === undefined ? '' : mib(f.total.maxRssMiB), f.bytes === undefined ? '' : formatSize(f.bytes), (f.note ?? '').replaceAll('|', '\\|')]));
  return table(['case', 'format', 'status', 'kernel+initrd+format s', 'extra s', 'peak RSS MiB', 'output size', 'note'], rows);
}

function targetsTable(rows: TargetRow[]): string {
  return table(['target', 'measured', 'limit', 'result'],
    rows.map((t) => [t.target, t.measured, t.limit, t.pass === undefined ? 'NOT RUN' : t.pass ? 'PASS' : 'MISS']));
}

/** The whole report. */
export function renderReport(info: RunInfo, startup: StartupResult[], results: CaseResult[], targets: TargetRow[]): string {
  return [
    `# mobyts bench (${info.mode} mode)`, '',
    `${info.date} · Node ${info.node} · ${info.machine} · load average before ${info.loadBefore}, after ${info.loadAfter} · CPU and RSS from ${info.measuring} · bench took ${info.totalS.toFixed(0)} s`,
    ...(info.mode === 'small' ? ['', '_Small mode: tiny inputs, one run each. It checks that the bench works; the numbers and PASS/MISS mean nothing._'] : []),
    '', '## Start-up', '', startupTable(startup),
    '', '## Builds (`-f kernel+initrd`, medians; cold = empty cache, pulled from the registry on 127.0.0.1)', '', buildsTable(results),
    '', '## Floors on the same bytes, and ratios', '', floorsTable(results),
    '', '## Output formats on top of kernel+initrd (warm)', '', formatsTable(results),
    '', '## Targets', '', targetsTable(targets), '',
  ].join('\n');
}
