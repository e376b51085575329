/**
 * The remote-cache measurement (docs/scale.md#figures), shared by `npm run bench:remote` (bench/remote.ts) and
 * the `remote` target row of `npm run bench`. Two cache directories stand in for two stateless runners; B's
 * requests pass through a counting proxy (test/helpers/fault-proxy.ts, no faults) so its downloads are known.
 */
import { spawn } from 'node:child_process';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import type { FaultProxy } from '../../test/helpers/fault-proxy.ts';
import { planImages, type BenchCase, type BenchConfig } from './cases.ts';
import { pushPlan, type PushedImage } from './generate.ts';
import { median, REPO, timeCommand } from './measure.ts';
import { specYaml } from './spec.ts';
import type { TargetRow } from './targets.ts';

const BIN = join(REPO, 'bin/mobyts.js');

interface Run {
  wallS: number;
  stderr: string;
  stdout: string;
}

/** Runs `mobyts ARGS` and returns its wall time and output; rejects with the stderr tail when it fails. */
async function mobyts(args: string[], env: Record<string, string>, cwd: string, bin = BIN): Promise<Run> {
  const start = performance.now();
  const child = spawn(process.execPath, [bin, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  const code = await new Promise<number | null>((res, rej) => {
    child.once('error', rej);
    child.once('close', res);
  });
  const wallS = (performance.now() - start) / 1000;
  if (code !== 0)
    throw new Error(
      `mobyts ${args.join(' ')} exited with ${code}:\n${stderr.trim().split('\n').slice(-15).join('\n')}`,
    );
  return { wallS, stderr, stdout };
}

/** Section names the build compressed / reused (from the `-v 2` segment lines). */
function segments(stderr: string, what: 'compressed' | 'reused'): string[] {
  return [...stderr.matchAll(new RegExp(`^initrd segment \\d+ \\(([^)]+)\\): ${what}`, 'gm'))].map((m) => m[1] ?? '');
}

const downloadedSections = (stderr: string): number =>
  [...stderr.matchAll(/^section [0-9a-f]{12} downloaded from /gm)].length;

/** The blob and manifest GETs the proxy forwarded since `from`, as URLs on the registry itself. */
function fetched(proxy: FaultProxy, from: number, upstream: string): string[] {
  return proxy.requests
    .slice(from)
    .filter((r) => r.method === 'GET' && /\/(blobs|manifests)\//.test(r.path))
    .map((r) => `${upstream}${r.path}`);
}

/** Sum of the body sizes of `urls` (one HEAD each: the registry's Content-Length). */
async function sizes(urls: string[]): Promise<number> {
  let n = 0;
  for (const u of urls) {
    const res = await request(u, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, */*' },
    });
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

/** One size measured: runners A, B, C, and push/pull of A's outputs. */
export interface RemoteRow {
  label: string;
  /** A cold build with an empty cache and no remote cache: what every runner pays without one. */
  coldS: number;
  aS: number;
  /** B's wall time: the median of `bRuns` (each with its own empty cache). */
  bS: number;
  bRuns: number[];
  bBytes: number;
  /** Of bBytes, what came from the remote cache's repository (the rest: the spec's images). */
  bCacheBytes: number;
  /** curl of the remote cache's blobs only (what B would fetch if it skipped the images' layers). */
  curlCacheS: number;
  bRequests: number;
  bCompressed: number;
  bDownloaded: number;
  sections: number;
  /** The median of as many `curl` runs as B runs. */
  curlS: number;
  curlRuns: number[];
  cS: number;
  cCompressed: string[];
  cDownloaded: number;
  cPushed: string;
  outBytes: number;
  pushS: number;
  pullS: number;
  pullBytes: number;
}

export interface RemoteEnv {
  cfg: BenchConfig;
  pool: Buffer;
  /** The counting proxy every runner talks to, and the registry behind it (`http://127.0.0.1:PORT`). */
  proxy: FaultProxy;
  upstream: string;
  /** This measurement's private directory. */
  dir: string;
  env: Record<string, string>;
  log: (msg: string) => void;
  /** How often runner B (each time with a new empty cache) and `curl` run; their medians are reported. Default 1. */
  runs?: number;
  /** The CLI to run: the bundled package (bench/lib/compiled.ts) as users run it; default the checkout's bin/. */
  bin?: string;
}

/**
 * Measures case `c` (its images generated and pushed through `proxy`, in front of the registry at `upstream`)
 * in `dir`: a cold build, runner A with --cache-to, runner B (empty cache) with --cache-from and the bytes it
 * fetched, `curl` of the same, runner C with one `files:` entry changed, push and pull of A's outputs.
 */
export async function measureRemote(c: BenchCase, e: RemoteEnv): Promise<RemoteRow> {
  const { proxy, upstream, dir, env, log } = e;
  const images: PushedImage[] = await pushPlan(proxy.host, planImages(c, e.cfg), {
    pool: e.pool,
    bzImageBytes: e.cfg.bzImageBytes,
  });
  const spec = join(dir, `${c.id}.yml`);
  await writeFile(spec, specYaml(images, 1));
  const remote = `${proxy.host}/ci/${c.id}-cache:main`;
  const build = (runner: string, flags: string[], file = spec): Promise<Run> =>
    mobyts(
      [
        'build',
        '--cache',
        join(dir, `cache-${runner}`),
        '-v',
        '2',
        '-f',
        'kernel+initrd',
        '-d',
        join(dir, `out-${runner}`),
        ...flags,
        file,
      ],
      env,
      dir,
      e.bin,
    );

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
  // B and curl alternate, so a change of the machine's load hits both alike
  const bRuns = [b.wallS];
  const curlRuns = [await curlFloor(urls)];
  for (let i = 2; i <= (e.runs ?? 1); i++) {
    log(`${c.id}: runner B again (${i} of ${e.runs ?? 1}, another empty cache)`);
    bRuns.push((await build(`b${i}`, ['--cache-from', `type=registry,ref=${remote}`])).wallS);
    curlRuns.push(await curlFloor(urls));
  }
  const curlCacheS = await curlFloor(urls.filter((u) => u.includes(`/v2/ci/${c.id}-cache/`)));

  const changed = join(dir, `${c.id}-2.yml`);
  await writeFile(changed, specYaml(images, 2));
  log(`${c.id}: runner C (empty cache, one files: entry changed)`);
  const cRun = await build('c', ['--cache-from', remote, '--cache-to', remote], changed);

  log(`${c.id}: push and pull`);
  const ref = `${proxy.host}/os/${c.id}:1`;
  const push = await mobyts(['push', ref, join(dir, 'out-a', c.id), '--spec', spec], env, dir, e.bin);
  const pulled = join(dir, 'pulled');
  const pull = await mobyts(['pull', ref, '-d', pulled], env, dir, e.bin);
  return {
    label: c.id,
    coldS: cold.wallS,
    aS: a.wallS,
    bS: median(bRuns),
    bRuns,
    bBytes,
    bCacheBytes,
    curlCacheS,
    bRequests: urls.length,
    bCompressed: segments(b.stderr, 'compressed').length,
    bDownloaded: downloadedSections(b.stderr),
    sections: segments(a.stderr, 'compressed').length,
    curlS: median(curlRuns),
    curlRuns,
    cS: cRun.wallS,
    cCompressed: segments(cRun.stderr, 'compressed'),
    cDownloaded: downloadedSections(cRun.stderr),
    cPushed: /pushed (\d+ of \d+) sections/.exec(cRun.stderr)?.[1] ?? '?',
    outBytes: await dirBytes(join(dir, 'out-a')),
    pushS: push.wallS,
    pullS: pull.wallS,
    pullBytes: await dirBytes(pulled),
  };
}

/** The target row "B ≤ 1.10 × download": B's wall time against one `curl` of every blob B fetched. */
export function remoteTarget(r: RemoteRow | Error | undefined): TargetRow {
  const target = 'runner B (empty cache, --cache-from) ≤ 1.10 × curl of the same blobs, `ref` shape';
  if (r === undefined) return { id: 'remote-ref', target, measured: 'not run', limit: '', pass: undefined };
  if (r instanceof Error) return { id: 'remote-ref', target, measured: 'build failed', limit: '', pass: false };
  return {
    id: 'remote-ref',
    target,
    measured: `${r.bS.toFixed(3)} s, ${r.bCompressed} sections compressed`,
    limit: `≤ ${(1.1 * r.curlS).toFixed(3)} s`,
    pass: r.bS <= 1.1 * r.curlS,
  };
}
