/**
 * `npm run bench:remote`: the registry as shared cache and destination (docs/scale.md), measured with the
 * real CLI against the real CNCF registry on 127.0.0.1. Two cache directories stand in for two stateless
 * runners: A builds a bench case with `--cache-to`, B (empty cache) builds it with `--cache-from`; B's
 * requests pass through a counting proxy (test/helpers/fault-proxy.ts with no faults), so the bytes B downloads
 * are counted, and the same blobs are then fetched once with `curl` for the download floor. Then one `files:`
 * entry changes (runner C), and the outputs go through `mobyts push` / `mobyts pull`.
 *
 *   npm run bench:remote                 the `ref` case's shape with 10 MiB and 64 MiB of data
 *   npm run bench:remote -- --small      512 KiB only (checks the script works)
 *   npm run bench:remote -- --mib 10,256 other sizes (MiB of file data, 8 images each)
 *
 * Prints a markdown report; the target "B ≤ 1.10 × download" is judged PASS or MISS per size.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { startFaultProxy, type FaultProxy } from '../test/helpers/fault-proxy.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import { benchConfig, MiB, planImages, type BenchCase } from './lib/cases.ts';
import { contentPool } from './lib/content.ts';
import { pushPlan, type PushedImage } from './lib/generate.ts';
import { REPO, timeCommand } from './lib/measure.ts';
import { specYaml } from './lib/spec.ts';

const BIN = join(REPO, 'bin/mobyts.js');
const log = (msg: string): void => { process.stderr.write(`bench:remote: ${msg}\n`); };
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

interface Run { wallS: number; stderr: string; stdout: string }

/** Runs `mobyts ARGS` and returns its wall time and output; rejects with the stderr tail when it fails. */
async function mobyts(args: string[], env: Record<string, string>, cwd: string): Promise<Run> {
  const start = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  const code = await new Promise<number | null>((res, rej) => { child.once('error', rej); child.once('close', res); });
  const wallS = (performance.now() - start) / 1000;
  if (code !== 0) throw new Error(`mobyts ${args.join(' ')} exited with ${code}:\n${stderr.trim().split('\n').slice(-15).join('\n')}`);
  return { wallS, stderr, stdout };
}

/** Section names the build compressed / reused (from the `-v 2` segment lines). */
function segments(stderr: string, what: 'compressed' | 'reused'): string[] {
  return [...stderr.matchAll(new RegExp(`^initrd segment \\d+ \\(([^)]+)\\): ${what}`, 'gm'))].map((m) => m[1] ?? '');
}

const downloadedSections = (stderr: string): number => [...stderr.matchAll(/^section [0-9a-f]{12} downloaded from /gm)].length;

/** The blob and manifest GETs the proxy forwarded since `from`, as URLs on the registry itself. */
function fetched(proxy: FaultProxy, from: number, upstream: string): string[] {
  return proxy.requests.slice(from).filter((r) => r.method === 'GET' && /\/(blobs|manifests)\//.test(r.path)).map((r) => `${upstream}${r.path}`);
}

/** Sum of the body sizes of `urls` (one HEAD each: the registry's Content-Length). */
async function sizes(urls: string[]): Promise<number> {
  let n = 0;
  for (const u of urls) {
    const res = await request(u, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, */*' } });
    await res.body.dump();
    n += Number(res.headers['content-length'] ?? 0);
  }
  return n;
}

/** Seconds one `curl` takes to GET every one of `urls` sequentially (one process, one connection reused). */
function curlFloor(urls: string[]): Promise<number> {
  const accept = 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';
  return timeCommand('curl', ['-sfL', '-H', accept, ...urls.flatMap((u) => ['-o', '/dev/null', u])]);
}

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir)) n += (await stat(join(dir, f))).size;
  return n;
}

interface Row {
  label: string;
  /** A cold build with an empty cache and no remote cache: what every runner pays without one. */
  coldS: number;
  aS: number;
  bS: number;
  bBytes: number;
  /** Of bBytes, what came from the remote cache's repository (the rest: the spec's images). */
  bCacheBytes: number;
  /** curl of the remote cache's blobs only (what B would fetch if it skipped the images' layers). */
  curlCacheS: number;
  bRequests: number;
  bCompressed: number;
  bDownloaded: number;
  sections: number;
  curlS: number;
  cS: number;
  cCompressed: string[];
  cDownloaded: number;
  cPushed: string;
  outBytes: number;
  pushS: number;
  pullS: number;
  pullBytes: number;
}

async function measure(c: BenchCase, proxy: FaultProxy, upstream: string, dir: string, env: Record<string, string>): Promise<Row> {
  const cfg = benchConfig(false);
  const images: PushedImage[] = await pushPlan(proxy.host, planImages(c, { ...cfg, bzImageBytes: 4 * MiB }), { pool: contentPool(16 * MiB), bzImageBytes: 4 * MiB });
  const spec = join(dir, `${c.id}.yml`);
  await writeFile(spec, specYaml(images, 1));
  const remote = `${proxy.host}/ci/${c.id}-cache:main`;
  const build = (runner: string, flags: string[], file = spec): Promise<Run> =>
    mobyts(['build', '--cache', join(dir, `cache-${runner}`), '-v', '2', '-f', 'kernel+initrd', '-d', join(dir, `out-${runner}`), ...flags, file], env, dir);

  log(`${c.id}: cold build, no remote cache`);
  const cold = await build('cold', []);
  log(`${c.id}: runner A (--cache-to)`);
  const a = await build('a', ['--cache-to', `type=registry,ref=${remote}`]);
  log(`${c.id}: runner B (empty cache, --cache-from)`);
  const before = proxy.requests.length;
  const b = await build('b', ['--cache-from', `type=registry,ref=${remote}`]);
  const urls = fetched(proxy, before, upstream);
  const bBytes = await sizes(urls);
  const bCacheBytes = await sizes(urls.filter((u) => u.includes(`/v2/ci/${c.id}-cache/`)));
  const curlS = await curlFloor(urls);
  const curlCacheS = await curlFloor(urls.filter((u) => u.includes(`/v2/ci/${c.id}-cache/`)));

  const changed = join(dir, `${c.id}-2.yml`);
  await writeFile(changed, specYaml(images, 2));
  log(`${c.id}: runner C (empty cache, one files: entry changed)`);
  const cRun = await build('c', ['--cache-from', remote, '--cache-to', remote], changed);

  log(`${c.id}: push and pull`);
  const ref = `${proxy.host}/os/${c.id}:1`;
  const push = await mobyts(['push', ref, join(dir, 'out-a', c.id), '--spec', spec], env, dir);
  const pulled = join(dir, 'pulled');
  const pull = await mobyts(['pull', ref, '-d', pulled], env, dir);
  return {
    label: c.id, coldS: cold.wallS, aS: a.wallS, bS: b.wallS, bBytes, bCacheBytes, curlCacheS, bRequests: urls.length, bCompressed: segments(b.stderr, 'compressed').length, bDownloaded: downloadedSections(b.stderr),
    sections: segments(a.stderr, 'compressed').length, curlS, cS: cRun.wallS, cCompressed: segments(cRun.stderr, 'compressed'), cDownloaded: downloadedSections(cRun.stderr),
    cPushed: /pushed (\d+ of \d+) sections/.exec(cRun.stderr)?.[1] ?? '?', outBytes: await dirBytes(join(dir, 'out-a')), pushS: push.wallS, pullS: pull.wallS, pullBytes: await dirBytes(pulled),
  };
}

const s = (x: number): string => x.toFixed(3);
const mib = (x: number): string => (x / MiB).toFixed(2);

function report(rows: Row[], info: { loadBefore: string; loadAfter: string }): string {
  const lines = [
    '# mobyts bench: remote cache and artifacts', '',
    `${cpus().length} vCPU (${cpus()[0]?.model.trim() ?? '?'}), node ${process.versions.node}, load before ${info.loadBefore}, after ${info.loadAfter}`, '',
    '## Runner A → registry → runner B', '',
    '| case | cold, no remote cache (s) | A cold, --cache-to (s) | B empty cache, --cache-from (s) | B downloaded: MiB (of which remote cache), requests | sections B downloaded / compressed | curl of the same (s), of the cache blobs only | B ÷ curl |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.label} | ${s(r.coldS)} | ${s(r.aS)} | ${s(r.bS)} | ${mib(r.bBytes)} (${mib(r.bCacheBytes)}), ${r.bRequests} | ${r.bDownloaded} of ${r.sections} / ${r.bCompressed} | ${s(r.curlS)}, ${s(r.curlCacheS)} | ${(r.bS / r.curlS).toFixed(2)} |`),
    '', '## One `files:` entry changed (runner C: empty cache, --cache-from and --cache-to)', '',
    '| case | C (s) | sections compressed | sections downloaded | pushed |', '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.label} | ${s(r.cS)} | ${r.cCompressed.length} (${r.cCompressed.join(', ')}) | ${r.cDownloaded} | ${r.cPushed} |`),
    '', '## `mobyts push` / `mobyts pull` of the outputs', '',
    '| case | outputs (MiB) | push (s) | pull (s) | pulled (MiB) |', '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.label} | ${mib(r.outBytes)} | ${s(r.pushS)} | ${s(r.pullS)} | ${mib(r.pullBytes)} |`),
    '', '## Targets', '', '| target | measured | status |', '|---|---|---|',
    ...rows.map((r) => `| B ≤ 1.10 × download, \`${r.label}\` | ${s(r.bS)} s vs ${s(1.1 * r.curlS)} s | ${r.bS <= 1.1 * r.curlS ? 'PASS' : 'MISS'} |`),
    ...rows.map((r) => `| B compresses nothing, \`${r.label}\` | ${r.bCompressed} | ${r.bCompressed === 0 ? 'PASS' : 'MISS'} |`),
    ...rows.map((r) => `| one change rebuilds one section, \`${r.label}\` | ${r.cCompressed.length} | ${r.cCompressed.length === 1 ? 'PASS' : 'MISS'} |`),
    '',
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { small: { type: 'boolean' }, mib: { type: 'string' } } });
  const sizesMiB = values.small === true ? [0.5] : (values.mib ?? '10,64').split(',').map(Number);
  const loadBefore = load();
  const dir = await mkdtemp(join(tmpdir(), 'mobyts-bench-remote-'));
  const reg = await startRegistry();
  const proxy = await startFaultProxy(reg.url);
  try {
    await mkdir(join(dir, 'home'));
    await mkdir(join(dir, 'tmp'));
    const env = { PATH: process.env['PATH'] ?? '', HOME: join(dir, 'home'), TMPDIR: join(dir, 'tmp'), TZ: 'UTC', LANG: 'C' };
    const rows: Row[] = [];
    for (const size of sizesMiB) {
      const id = size < 1 ? `r${Math.round(size * 1024)}k` : `r${size}m`;
      const caseDir = join(dir, id);
      await mkdir(caseDir);
      rows.push(await measure({ id, images: 8, dataBytes: Math.round(size * MiB) + 4 * MiB, runs: 1, formats: false }, proxy, reg.url, caseDir, env));
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
