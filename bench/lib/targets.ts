/**
 * The project's performance targets (issue 12) evaluated against one run's results. Pure.
 */
import { isFailure, type CaseOutcome, type CaseResult } from './run-case.ts';
import { peakRss } from './table.ts';

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

function row(
  id: string,
  target: string,
  c: CaseOutcome | undefined,
  f: (c: CaseResult) => { measured: string; limit: string; pass: boolean | undefined },
): TargetRow {
  if (c === undefined) return { id, target, measured: 'not run', limit: '', pass: undefined };
  if (isFailure(c)) return { id, target, measured: 'build failed', limit: '', pass: false };
  return { id, target, ...f(c) };
}

const lkWarm = (c: CaseResult): number | undefined => ('warm' in c.peer ? c.peer.warm.wallS : undefined);

function vsPeer(
  id: string,
  target: string,
  c: CaseOutcome | undefined,
  mine: (c: CaseResult) => number,
  limit: number,
): TargetRow {
  return row(id, target, c, (x) => {
    const lk = lkWarm(x);
    if (lk === undefined)
      return { measured: `${s(mine(x))}, peer skipped`, limit: `≤ ${ratio(limit)} × LinuxKit`, pass: undefined };
    const r = mine(x) / lk;
    return { measured: `${ratio(r)} (${s(mine(x))} vs ${s(lk)})`, limit: `≤ ${ratio(limit)}`, pass: r <= limit };
  });
}

/** Every target row (issue 12's), in a fixed order (one `cold ≤ 1.05 × (download + warm)` row per case run). */
export function evaluateTargets(results: CaseOutcome[]): TargetRow[] {
  const get = (id: string): CaseOutcome | undefined => results.find((r) => r.id === id);
  const rows: TargetRow[] = [
    vsPeer(
      'warm-ref',
      'warm kernel+initrd of `ref` (minimal shape), section cache empty ÷ LinuxKit warm',
      get('ref'),
      (c) => c.warm.wallS,
      0.5,
    ),
    vsPeer(
      'again-ref',
      'the same `ref` build again, nothing changed ÷ LinuxKit warm',
      get('ref'),
      (c) => c.again.wallS,
      0.2,
    ),
    row('rss-ref', "peak RSS of `ref` below LinuxKit's", get('ref'), (c) => {
      const lk = 'warm' in c.peer ? c.peer.warm.maxRssMiB : undefined;
      return lk === undefined
        ? { measured: `${peakRss(c).toFixed(0)} MiB, peer skipped`, limit: '< LinuxKit', pass: undefined }
        : { measured: `${peakRss(c).toFixed(0)} MiB`, limit: `< ${lk.toFixed(0)} MiB`, pass: peakRss(c) < lk };
    }),
    ...['data1g', 'data2g'].map((id) =>
      row(
        `gzip-floor-${id}`,
        `warm build (section cache empty) ÷ single-thread gunzip + gzip-6 floor, \`${id}\``,
        get(id),
        (c) => {
          const r = c.warm.wallS / (c.floors.gunzipLayersS + c.floors.gzipS);
          return { measured: ratio(r), limit: '≤ 0.60', pass: r <= 0.6 };
        },
      ),
    ),
    vsPeer('again-data1g', 'nothing changed ÷ LinuxKit warm, `data1g`', get('data1g'), (c) => c.again.wallS, 0.1),
    ...['data1g', 'data2g', 'files100k'].map((id) =>
      row(`rss-${id}`, `peak RSS, \`${id}\` (every build)`, get(id), (c) => ({
        measured: `${peakRss(c).toFixed(0)} MiB`,
        limit: '< 300 MiB',
        pass: peakRss(c) < 300,
      })),
    ),
    row('rebuild-data256m', 'rebuild after a one-file change ÷ cold build, `data256m`', get('data256m'), (c) => {
      const r = c.rebuild.wallS / c.cold.wallS;
      return { measured: `${(r * 100).toFixed(1)} %`, limit: '< 5 %', pass: r < 0.05 };
    }),
  ];
  for (const c of results) {
    rows.push(
      row(`cold-${c.id}`, `cold ≤ 1.05 × (download + warm), \`${c.id}\``, c, (x) => {
        const limit = 1.05 * (x.floors.downloadS + x.warm.wallS);
        return { measured: s(x.cold.wallS), limit: `≤ ${s(limit)}`, pass: x.cold.wallS <= limit };
      }),
    );
  }
  return rows;
}
