/**
 * Merges the JSON of several bench runs into one report (a case from a later file replaces the same case from
 * an earlier one; start-up rows come from the last file that has them), e.g. when the long cases were run
 * apart from the short ones:  node bench/merge.ts bench/results/a.json bench/results/b.json > merged.md
 */
import { readFile } from 'node:fs/promises';
import { benchConfig } from './lib/cases.ts';
import { isFailure, type CaseOutcome } from './lib/run-case.ts';
import { REPO } from './lib/measure.ts';
import { summariseProfile } from './lib/profile.ts';
import { renderReport, type RunInfo, type StartupResult } from './lib/table.ts';
import { evaluateTargets } from './lib/targets.ts';

interface RunJson {
  info: RunInfo;
  startup: StartupResult[];
  results: CaseOutcome[];
}

const files = process.argv.slice(2);
const runs = await Promise.all(files.map(async (f) => JSON.parse(await readFile(f, 'utf8')) as RunJson));
const byId = new Map<string, CaseOutcome>();
for (const r of runs) for (const c of r.results) byId.set(c.id, c);
const order = benchConfig(runs[0]?.info.mode === 'small').cases.map((c) => c.id);
const results = order.flatMap((id) => byId.get(id) ?? []);
// Summaries are recomputed from the profiles themselves (older runs' JSON may lack newer fields).
for (const r of results) {
  if (isFailure(r) || r.profile === undefined) continue;
  const path = r.profile.path;
  r.profile = await summariseProfile(path, REPO)
    .then((s) => ({ path, ...s }))
    .catch(() => undefined);
}
const startup =
  runs
    .map((r) => r.startup)
    .filter((s) => s.length > 0)
    .at(-1) ?? [];
const last = runs.at(-1)?.info;
if (last === undefined) throw new Error('usage: node bench/merge.ts RUN.json...');
const info: RunInfo = {
  ...last,
  date: runs.map((r) => r.info.date).join(', '),
  loadBefore: runs.map((r) => r.info.loadBefore).join(' / '),
  loadAfter: runs.map((r) => r.info.loadAfter).join(' / '),
  totalS: runs.reduce((n, r) => n + r.info.totalS, 0),
};
process.stdout.write(renderReport(info, startup, results, evaluateTargets(results)));
