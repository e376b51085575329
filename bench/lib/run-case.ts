/**
 * One bench case end to end: generate and push its images, then measure cold, warm and rebuild builds of
 * kernel+initrd through the CLI, the floors on the same bytes, and (when asked) every output format on top.
 */
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { allFormats } from '../../src/outputs/index.ts';
import { missingTools } from '../../src/tools/preflight.ts';
import { describeCase, planImages, type BenchCase, type BenchConfig, type PlannedImage } from './cases.ts';
import {
  cachedLayerFiles,
  catFloor,
  compressFloor,
  downloadFloor,
  extractCpio,
  gunzipFloor,
  replaceFloor,
} from './floors.ts';
import { pushPlan, type PushedImage } from './generate.ts';
import { median, REPO, runMobyts, runPeer, summarise, type RunOptions, type Sample } from './measure.ts';
import { specYaml } from './spec.ts';
import { summariseProfile, type ProfileSummary } from './profile.ts';

export interface Floors {
  downloadS: number;
  catLayersS: number;
  /** Node's zlib gunzipping every cached layer blob, one after another (one thread). */
  gunzipLayersS: number;
  catOutputS: number;
  /** The initrd output copied by the kernel beside itself and renamed over itself (floors.ts `replaceFloor`). */
  replaceOutputS: number;
  gzipS: number;
  zstdS: number;
}

export interface FormatResult {
  name: string;
  status: 'ok' | 'skipped' | 'failed';
  note?: string;
  total?: Sample;
  /** Wall seconds over the warm kernel+initrd build. */
  extraS?: number;
  bytes?: number;
}

export interface CaseResult {
  id: string;
  label: string;
  runs: number;
  cold: Sample;
  /** Warm image cache, empty section cache. */
  warm: Sample;
  /** The same build again: nothing changed, every section from the section cache. */
  again: Sample;
  /** After changing the contents of one `files` entry (section cache full). */
  rebuild: Sample;
  /** LinuxKit's warm build of the same spec from the same cache, or why it was not run. */
  peer: { warm: Sample } | { skipped: string };
  sizes: { kernel: number; initrd: number; cpio: number; layers: number };
  floors: Floors;
  formats: FormatResult[];
  /** Builds of this case that exited 13 (Node: event loop drained with a pending await) and were retried. */
  hangs: number;
  /** With --cpu-prof: one extra warm build profiled (main thread). */
  profile?: ProfileSummary & { path: string };
}

/** A case whose build failed: the bench reports it and goes on. */
export interface CaseFailure {
  id: string;
  label: string;
  failed: string;
}

export type CaseOutcome = CaseResult | CaseFailure;

export function isFailure(o: CaseOutcome): o is CaseFailure {
  return 'failed' in o;
}

export interface CaseEnv {
  /** Counts builds that died with exit 13 and were retried (reset per case by runCase). */
  hangs?: { count: number };
  cfg: BenchConfig;
  host: string;
  pool: Buffer;
  /** This case's private directory. */
  dir: string;
  run: Omit<RunOptions, 'cwd'>;
  /** When set, profile one extra warm build into `<profileDir>/<case>/`. */
  profileDir?: string;
  /** The LinuxKit binary to measure side by side (`--linuxkit PATH`); absent: "peer skipped". */
  linuxkit?: string;
  log(msg: string): void;
}

async function sizeOf(path: string): Promise<number> {
  return (await stat(path)).size;
}

async function sumSizes(paths: string[]): Promise<number> {
  let n = 0;
  for (const p of paths) n += await sizeOf(p).catch(() => 0);
  return n;
}

async function repeat(
  runs: number,
  before: (i: number) => Promise<void>,
  build: () => Promise<Sample>,
): Promise<Sample> {
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    await before(i);
    samples.push(await build());
  }
  return summarise(samples);
}

async function medianOf(runs: number, f: () => Promise<number>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(await f());
  return median(xs);
}

const MAX_ATTEMPTS = 3;

/**
 * Runs a build; a build that exits 13 (Node's "unsettled top-level await": the build's event loop drained
 * while it awaited a stream, a hang in mobyts) is counted and retried, so one flaky hang does not lose the
 * whole case. Any other failure, or a third hang in a row, fails the case.
 */
async function build(
  e: CaseEnv,
  args: string[],
  o: { nodeFlags?: string[]; reset?: () => Promise<void> } = {},
): Promise<Sample> {
  const nodeFlags = o.nodeFlags ?? [];
  for (let attempt = 1; ; attempt++) {
    try {
      if (attempt > 1) await o.reset?.();
      return await runMobyts(args, { ...e.run, cwd: e.dir, nodeFlags });
    } catch (err) {
      if (!(err as Error).message.includes(' exited with 13:') || attempt >= MAX_ATTEMPTS) throw err;
      if (e.hangs !== undefined) e.hangs.count++;
      e.log(`exit 13 (event loop drained mid-build), retrying: mobyts ${args.join(' ')}`);
    }
  }
}

function buildArgs(c: BenchCase, e: CaseEnv, formats: string, out: string): string[] {
  return ['build', '--cache', join(e.dir, 'cache'), '-f', formats, '-d', out, join(e.dir, `${c.id}.yml`)];
}

async function measureFloors(c: BenchCase, e: CaseEnv, images: PushedImage[], out: string): Promise<Floors> {
  const cpio = join(e.dir, 'initrd.cpio');
  await extractCpio(join(out, `${c.id}-initrd.img`), cpio);
  const floors: Floors = {
    downloadS: await medianOf(c.runs, () => downloadFloor(e.host, images)),
    catLayersS: await medianOf(c.runs, () => catFloor(cachedLayerFiles(join(e.dir, 'cache'), images))),
    gunzipLayersS: await medianOf(c.runs, () => gunzipFloor(cachedLayerFiles(join(e.dir, 'cache'), images))),
    catOutputS: await medianOf(c.runs, () => catFloor([join(out, `${c.id}-kernel`), join(out, `${c.id}-initrd.img`)])),
    replaceOutputS: await medianOf(c.runs, () => replaceFloor(join(out, `${c.id}-initrd.img`))),
    gzipS: await medianOf(c.runs, () => compressFloor(cpio, 'gzip')),
    zstdS: await medianOf(c.runs, () => compressFloor(cpio, 'zstd')),
  };
  return floors;
}

async function profileWarm(c: BenchCase, e: CaseEnv, profileDir: string): Promise<ProfileSummary & { path: string }> {
  const dir = join(profileDir, c.id);
  await rm(dir, { recursive: true, force: true });
  e.log(`${c.id}: profiled warm build`);
  await build(e, buildArgs(c, e, 'kernel+initrd', join(e.dir, 'out')), {
    nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
  });
  const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`no .cpuprofile written to ${dir}`);
  return { path: join(dir, file), ...(await summariseProfile(join(dir, file), REPO)) };
}

/**
 * Removes the records of past builds (docs/formats.md#up-to-date), and with `'sections'` the section cache too,
 * from the cache of the case in `dir`, as `mobyts cache clean` does: the next build does the work measured.
 */
async function forgetBuilds(dir: string, also?: 'sections'): Promise<void> {
  const mobyts = join(dir, 'cache', '.mobyts');
  // the stamps, and what each initrd output held (read again, as after `cache clean`)
  for (const d of ['builds', 'outputs']) await rm(join(mobyts, d), { recursive: true, force: true });
  if (also !== undefined) await rm(join(mobyts, also), { recursive: true, force: true });
}

async function measureFormats(c: BenchCase, e: CaseEnv, warm: Sample): Promise<FormatResult[]> {
  const results: FormatResult[] = [];
  for (const f of allFormats()) {
    if (f.name === 'kernel+initrd') continue;
    const missing = missingTools(f.tools);
    if (missing.length > 0) {
      results.push({ name: f.name, status: 'skipped', note: `missing ${missing.map((t) => t.command).join(', ')}` });
      continue;
    }
    const out = join(e.dir, `fmt-${f.name.replace(/[^a-z0-9-]/g, '_')}`);
    e.log(`${c.id}: kernel+initrd,${f.name}`);
    try {
      const total = await repeat(
        c.runs,
        () => mkdir(out, { recursive: true }).then(() => forgetBuilds(e.dir)),
        () => build(e, buildArgs(c, e, `kernel+initrd,${f.name}`, out)),
      );
      const bytes = await sumSizes(f.outputs(c.id).map((p) => join(out, p)));
      results.push({ name: f.name, status: 'ok', total, extraS: total.wallS - warm.wallS, bytes });
    } catch (err) {
      results.push({ name: f.name, status: 'failed', note: firstAndLastLine((err as Error).message) });
    }
    await rm(out, { recursive: true, force: true });
  }
  return results;
}

/** LinuxKit's warm build of the case's spec from the cache mobyts filled (a LinuxKit-compatible layout). */
async function measurePeer(c: BenchCase, e: CaseEnv): Promise<CaseResult['peer']> {
  if (e.linuxkit === undefined) return { skipped: 'peer skipped (no --linuxkit PATH)' };
  const out = join(e.dir, 'out-linuxkit');
  await mkdir(out, { recursive: true }); // LinuxKit v1.2.0 does not create --dir
  e.log(`${c.id}: LinuxKit warm builds`);
  const args = [
    'build',
    '--cache',
    join(e.dir, 'cache'),
    '--format',
    'kernel+initrd',
    '--dir',
    out,
    join(e.dir, `${c.id}.yml`),
  ];
  try {
    const warm = await repeat(
      c.runs,
      () => Promise.resolve(),
      () => runPeer(e.linuxkit ?? '', args, { ...e.run, cwd: e.dir }),
    );
    return { warm };
  } catch (err) {
    return { skipped: `peer failed: ${firstAndLastLine((err as Error).message)}` };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** Runs case `c`; a failing build becomes a CaseFailure naming the command and its last error line. */
export async function runCase(c: BenchCase, e: CaseEnv): Promise<CaseOutcome> {
  const plan = planImages(c, e.cfg);
  const label = describeCase(c, plan, e.cfg.bzImageBytes);
  try {
    return await measureCase(c, { ...e, hangs: { count: 0 } }, plan, label);
  } catch (err) {
    const message = (err as Error).message;
    e.log(`${c.id}: FAILED: ${message}`);
    return { id: c.id, label, failed: firstAndLastLine(message) };
  }
}

function firstAndLastLine(message: string): string {
  const lines = message.trim().split('\n');
  const first = (lines[0] ?? '').replace(/ --cache \S+| -d \S+|\/tmp\/mobyts-bench-[^/]+\//g, '');
  const errorLine = lines.filter((l) => /^(Error|Cannot|Warning)\b|error/i.test(l)).pop() ?? lines.at(-1) ?? '';
  return lines.length > 1 ? `${first} ${errorLine.trim()}` : first;
}

async function measureCase(c: BenchCase, e: CaseEnv, plan: PlannedImage[], label: string): Promise<CaseResult> {
  e.log(`${c.id}: generating and pushing ${label}`);
  const images = await pushPlan(e.host, plan, { pool: e.pool, bzImageBytes: e.cfg.bzImageBytes });
  const specPath = join(e.dir, `${c.id}.yml`);
  await writeFile(specPath, specYaml(images, 1));
  const out = join(e.dir, 'out');
  const kernelInitrd = (): Promise<Sample> => build(e, buildArgs(c, e, 'kernel+initrd', out));
  const emptyCache = (): Promise<void> => rm(join(e.dir, 'cache'), { recursive: true, force: true });
  // A warm build compresses every section again: the section cache is emptied, and so are the stamps that would
  // let the same build be skipped (docs/formats.md#up-to-date); the output it replaces stays, as in a Makefile.
  const emptySections = (): Promise<void> => forgetBuilds(e.dir, 'sections');
  e.log(`${c.id}: cold builds`);
  const cold = await repeat(c.runs, emptyCache, () =>
    build(e, buildArgs(c, e, 'kernel+initrd', out), { reset: emptyCache }),
  );
  e.log(`${c.id}: warm builds (section cache emptied before each)`);
  const warm = await repeat(c.runs, emptySections, kernelInitrd);
  e.log(`${c.id}: the same build again, nothing changed`);
  const again = await repeat(c.runs, () => Promise.resolve(), kernelInitrd);
  const peer = await measurePeer(c, e);
  // The profiled build is a warm one like those measured above: the section cache emptied first.
  const profileDir = e.profileDir;
  const profile =
    profileDir === undefined ? undefined : await emptySections().then(() => profileWarm(c, e, profileDir));
  e.log(`${c.id}: rebuilds after a one-file change`);
  const rebuild = await repeat(c.runs, (i) => writeFile(specPath, specYaml(images, i + 2)), kernelInitrd);
  e.log(`${c.id}: floors`);
  const floors = await measureFloors(c, e, images, out);
  const layerFiles = cachedLayerFiles(join(e.dir, 'cache'), images);
  const sizes = {
    kernel: await sizeOf(join(out, `${c.id}-kernel`)),
    initrd: await sizeOf(join(out, `${c.id}-initrd.img`)),
    cpio: await sizeOf(join(e.dir, 'initrd.cpio')),
    layers: await sumSizes(layerFiles),
  };
  await rm(join(e.dir, 'initrd.cpio'), { force: true });
  const formats = c.formats ? await measureFormats(c, e, warm) : [];
  return {
    id: c.id,
    label,
    runs: c.runs,
    cold,
    warm,
    again,
    rebuild,
    peer,
    sizes,
    floors,
    formats,
    hangs: e.hangs?.count ?? 0,
    ...(profile === undefined ? {} : { profile }),
  };
}
