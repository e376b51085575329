/**
 * The project's performance targets (issue 7) evaluated against one run's results. Pure.
 */
import { isFailure, type CaseOutcome, type CaseResult } from './run-case.ts';

export interface TargetRow {
  id: string;
  target: string;
  measured: string;
  limit: string;
  /** undefined when the case was not run (filtered out). */
  pass: boolean | undefined;
}

const s = (x: number): string => `${x.toFixed(3)} s`;
const ratio = (x: number): string => x.toFixed(2);

function row(id: string, target: string, c: CaseOutcome | undefined, f: (c: CaseResult) => { measured: string; limit: string; pass: boolean }): TargetRow {
  if (c === undefined) return { id, target, measured: 'not run', limit: '', pass: undefined };
  if (isFailure(c)) return { id, target, measured: 'build failed', limit: '', pass: false };
  return { id, target, ...f(c) };
}

/** Every target row, in a fixed order (one `cold ≤ download + warm` row per case run). */
export function evaluateTargets(results: CaseOutcome[]): TargetRow[] {
  const get = (id: string): CaseOutcome | undefined => results.find((r) => r.id === id);
  const rss = (c: CaseResult): number => Math.max(c.cold.maxRssMiB, c.warm.maxRssMiB, c.rebuild.maxRssMiB);
  const rows: TargetRow[] = [
    row('warm-ref', 'warm kernel+initrd of `ref`, start-up included', get('ref'), (c) => ({ measured: s(c.warm.wallS), limit: '< 0.600 s', pass: c.warm.wallS < 0.6 })),
    ...['data256m', 'data2g'].map((id) => row(`gzip-floor-${id}`, `warm build ÷ gzip floor, \`${id}\``, get(id), (c) => {
      const r = c.warm.wallS / c.floors.gzipS;
      return { measured: ratio(r), limit: '≤ 1.00', pass: r <= 1 };
    })),
    ...['data2g', 'files100k'].map((id) => row(`rss-${id}`, `peak RSS, \`${id}\` (cold, warm, rebuild)`, get(id), (c) => ({ measured: `${rss(c).toFixed(0)} MiB`, limit: '< 300 MiB', pass: rss(c) < 300 }))),
    row('rebuild-data256m', 'rebuild after a one-file change ÷ cold build, `data256m`', get('data256m'), (c) => {
      const r = c.rebuild.wallS / c.cold.wallS;
      return { measured: `${(r * 100).toFixed(0)} %`, limit: '< 10 %', pass: r < 0.1 };
    }),
  ];
  for (const c of results) {
    rows.push(row(`cold-${c.id}`, `cold ≤ download + warm, \`${c.id}\``, c, (x) => {
      const limit = x.floors.downloadS + x.warm.wallS;
      return { measured: s(x.cold.wallS), limit: `≤ ${s(limit)}`, pass: x.cold.wallS <= limit };
    }));
  }
  return rows;
}
