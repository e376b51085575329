/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function and per source file, so a
 * missed target names where the time goes. Pure apart from reading the file.
 */
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Hotspot {
  name: string;
  selfMs: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  byCategory: Hotspot[];
  byFunction: Hotspot[];
  byFile: Hotspot[];
}

function fileOf(url: string, repo: string): string {
  if (url === '') return '(native / GC / idle)';
  if (url.startsWith('node:')) return url;
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  const compiled = path.indexOf('/compiled-cli/'); // the compiled copy of the CLI the builds run (bench/run.ts)
  const rel = compiled >= 0 ? path.slice(compiled + '/compiled-cli/'.length) : relative(repo, path);
  return rel.startsWith('node_modules/') ? rel.split('/').slice(0, 2).join('/') : rel;
}

const CATEGORIES: Array<[string, (file: string, fn: string) => boolean]> = [
  ['idle (waiting for I/O, zlib threads, children)', (f, fn) => fn === '(idle)'],
  ['garbage collection', (f, fn) => fn === '(garbage collector)'],
  [
    'start-up: module loading, TypeScript stripping (amaro wasm), bootstrap',
    (f) =>
      /^(node:internal\/(modules|deps\/amaro|bootstrap|process\/pre_execution)|wasm:)/.test(f) ||
      f.startsWith('node:internal/main'),
  ],
  ['zlib', (f) => f === 'node:zlib'],
  [
    'streams',
    (f) => f.startsWith('node:internal/streams') || f === 'node:stream' || f.startsWith('node:internal/webstreams'),
  ],
  ['crypto (digests)', (f) => f.startsWith('node:internal/crypto')],
  ['fs', (f) => f.startsWith('node:internal/fs') || f === 'node:fs'],
  ['mobyts src/ (dist/ when compiled)', (f) => f.startsWith('src/') || f.startsWith('dist/')],
  ['dependencies (node_modules)', (f) => f.startsWith('node_modules/')],
];

function category(file: string, fn: string): string {
  return CATEGORIES.find(([, test]) => test(file, fn))?.[0] ?? 'other (native, Node internals)';
}

function top(map: Map<string, number>, total: number, n: number): Hotspot[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, selfMs: us / 1000, share: us / total }));
}

/** Self time of the `n` hottest functions and files of the profile at `path`. */
export async function summariseProfile(path: string, repo: string, n = 12): Promise<ProfileSummary> {
  const p = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((node) => [node.id, node]));
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  const cat = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const node = byId.get(id);
    const dt = p.timeDeltas[i] ?? 0;
    if (node === undefined) return;
    total += dt;
    const f = fileOf(node.callFrame.url, repo);
    const name = `${node.callFrame.functionName || '(anonymous)'} ${f}${node.callFrame.url === '' ? '' : `:${node.callFrame.lineNumber + 1}`}`;
    fn.set(name, (fn.get(name) ?? 0) + dt);
    file.set(f, (file.get(f) ?? 0) + dt);
    const c = category(f, node.callFrame.functionName);
    cat.set(c, (cat.get(c) ?? 0) + dt);
  });
  return {
    totalMs: total / 1000,
    byCategory: top(cat, total, CATEGORIES.length + 1),
    byFunction: top(fn, total, n),
    byFile: top(file, total, n),
  };
}
