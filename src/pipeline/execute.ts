/**
 * Carrying out a build whose images are resolved: assemble the root filesystem stream once, derive what the
 * chosen formats need from it (fs tar, initrd, kernel, cmdline) in a private work directory, run each
 * format's `write`, and remove the work directory whatever happens. Outputs appear only when complete.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BuildLoader, FormatContext, FormatInputs, KernelFacts, OutputFormat } from '../outputs/format.ts';
import { buildLoader, usesLoader, writtenOutputs } from '../outputs/format-kit.ts';
import { assembleRootfs, assembleSections, type AssembleInput } from '../rootfs/assemble.ts';
import type { RootfsSection, SectionRecord } from '../rootfs/section.ts';
import { DamagedSegment, evictDamaged, type SegmentCache } from '../initrd/segments.ts';
import { pipeParts, withBefore, writeParts, type InitrdParts } from '../initrd/parts.ts';
import type { OutputLayouts } from '../store/output-layouts.ts';
import type { WorkDir } from '../store/work.ts';
import type { KernelOutputs } from '../rootfs/kernel.ts';
import { copyKeptBlob, type KeptBlob } from '../store/sections.ts';
import type { EntryStream } from '../tar/entry.ts';
import { MobyError } from '../util/errors.ts';
import type { Reporter } from '../util/reporter.ts';
import { asIoError, sweepTemps, writeStreamAtomically } from '../util/atomic.ts';
import type { OutputPlan } from './outputs-plan.ts';
import { readTarFile, tarStream } from '../tar/io.ts';
import { checkKernel } from '../kernel-check/check.ts';
import { parseConfig } from '../kernel-check/config-text.ts';
import {
  asEmbeddedConfig,
  embeddedConfigFactOf,
  findEmbeddedConfig,
  rememberEmbeddedConfig,
} from '../kernel-check/embedded-config.ts';
import { moduleIndexOf } from '../kernel-check/modules.ts';
import { putToc, savedToc, type TocStore } from '../rootfs/toc.ts';

/**
 * The initrd planner (initrd/segments.ts `planSegmentedInitrd`): one compressed member per section, `boot/*`
 * left out, no microcode prepended here; members come from `cache` when their key is there. Says which files
 * make the initrd (initrd/parts.ts writes them).
 */
export type InitrdWriter = (
  sections: AsyncIterable<RootfsSection>,
  opts: {
    compress: 'gzip' | 'zstd' | 'none';
    workDir: string;
    cache?: SegmentCache;
    reporter: Reporter;
    signal: AbortSignal;
  },
) => Promise<{ initrd: InitrdParts }>;

export interface ExecuteInput {
  plan: OutputPlan;
  /** Everything the assembly needs but the per-run switches set here (dockerfile, onKernel, workDir). */
  assemble: Omit<AssembleInput, 'dockerfile' | 'onKernel' | 'workDir'>;
  writeInitrd: InitrdWriter;
  /** A private work directory (store/work.ts: under the cache, swept after a kill); default: one in TMPDIR. */
  openWork?: () => Promise<WorkDir>;
  /** The section cache (store/sections.ts); absent: every member is compressed. */
  sectionCache?: SegmentCache;
  /** What the last build wrote into each initrd output (store/output-layouts.ts); absent: outputs are read. */
  outputLayouts?: OutputLayouts;
  /**
   * Facts about images kept between builds beside their tables of contents (store/image-tocs.ts): the
   * kernel's embedded config. Absent (a cache that cannot be written): the kernel is read every build.
   */
  facts?: TocStore;
  compress: 'gzip' | 'zstd' | 'none';
  sizeBytes: number;
  arch: string;
  stdout: Writable;
  reporter: Reporter;
  signal: AbortSignal;
}

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

/** Stops a stream at the next entry once `signal` is aborted (Ctrl-C), rejecting with its reason. */
async function* abortable(entries: EntryStream, signal: AbortSignal): EntryStream {
  for await (const e of entries) {
    signal.throwIfAborted();
    yield e;
  }
}

async function* withoutBoot(entries: EntryStream): EntryStream {
  for await (const e of entries) {
    if (e.header.name === 'boot' || e.header.name.startsWith('boot/')) e.body?.resume();
    else yield e;
  }
}

/** `-o FILE|-`: the stream goes straight to its destination, no temp tar. */
async function streamOut(x: ExecuteInput, workDir: string, to: string): Promise<void> {
  const dockerfile = x.plan.formats[0]?.name === 'docker';
  const bytes = tarStream(abortable(assembleRootfs({ ...x.assemble, workDir, dockerfile }), x.signal));
  if (to === '-') await pipeline(bytes, x.stdout, { end: false, signal: x.signal });
  else {
    await sweepKilled(x, [to]);
    await writeStreamAtomically(to, bytes, { signal: x.signal });
  }
  x.reporter.emit({ type: 'info', message: `Create outputs:\n  ${to === '-' ? '(stdout)' : to}` });
}

function sections(
  x: ExecuteInput,
  workDir: string,
  onKernel: (p: KernelOutputs) => void,
): AsyncGenerator<RootfsSection> {
  return abortableSections(assembleSections({ ...x.assemble, workDir, dockerfile: false, onKernel }), x.signal);
}

async function* abortableSections(
  all: AsyncIterable<RootfsSection>,
  signal: AbortSignal,
): AsyncGenerator<RootfsSection> {
  for await (const s of all) {
    signal.throwIfAborted();
    yield {
      id: s.id,
      key: s.key,
      replay: (r) => s.replay(r),
      record: () => s.record(),
      entries: () => abortable(s.entries(), signal),
    };
  }
}

const MAX_INITRD_TRIES = 1024;

/**
 * Runs `attempt` again (after `repair`) while it rejects with DamagedSegment. Each one evicted an entry, so this
 * ends; the bound only guards against a cache that keeps corrupting what it stores.
 */
async function untilUndamaged<T>(
  attempt: () => Promise<T>,
  repair = (): Promise<void> => Promise.resolve(),
): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof DamagedSegment) || tries > MAX_INITRD_TRIES) throw err;
      await repair();
    }
  }
}

/** The initrd of a build: its work copy for the formats that embed it, or written straight to an output. */
interface BuiltInitrd {
  path(): Promise<string>;
  writeTo(dest: string, before: readonly string[]): Promise<void>;
}

/**
 * The initrd of `all()`'s sections. When a cached member turns out damaged while being copied (it is then
 * evicted), the initrd is planned once more from fresh sections: the damaged member is made again. `settle`
 * runs after each complete plan, for what the sections handed over that is checked only on use (the kernel
 * blobs the section cache kept: `placeKernel`); its DamagedSegment also means "once more".
 */
async function initrdOf(
  x: ExecuteInput,
  all: () => AsyncIterable<RootfsSection>,
  workDir: string,
  settle: () => Promise<void> = () => Promise.resolve(),
): Promise<BuiltInitrd> {
  const cache = x.sectionCache;
  const plan = (): Promise<InitrdParts> =>
    untilUndamaged(async () => {
      const { initrd } = await x.writeInitrd(all(), {
        compress: x.compress,
        workDir,
        ...(cache === undefined ? {} : { cache }),
        reporter: x.reporter,
        signal: x.signal,
      });
      await settle();
      return initrd;
    });
  let parts = await plan();
  const opts = {
    evict: evictDamaged(cache),
    signal: x.signal,
    ...(x.outputLayouts === undefined ? {} : { layouts: x.outputLayouts }),
  };
  /** Runs `use` on the parts; a damaged cached member (evicted by then) means planning again and once more. */
  const withParts = <T>(use: (p: InitrdParts) => Promise<T>): Promise<T> =>
    untilUndamaged(
      () => use(parts),
      async () => {
        parts = await plan();
      },
    );
  const file = join(workDir, 'initrd.img');
  let copied = false;
  const path = once(() =>
    withParts(async (p) => {
      await pipeParts(p, opts, createWriteStream(file));
      copied = true;
      return file;
    }),
  );
  return {
    path,
    writeTo: (dest, before) =>
      withParts(async (p) => {
        const whole = copied && before.length === 0 ? { whole: file } : {};
        const done = await writeParts(dest, await withBefore(before, p), { ...opts, ...whole });
        const how = done.recorded ? ' (known from the last build, not read)' : '';
        x.reporter.emit({
          type: 'debug',
          message: done.kept
            ? `${dest}: already holds this initrd, kept${how}`
            : `${dest}: written, ${done.reusedParts} parts (${done.reusedBytes} bytes) of the previous file reused${how}`,
        });
      }),
  };
}

/** A section as written to the filesystem tar: where it is in that tar, and what it recorded. */
interface TarSection {
  id: string;
  key: string;
  count: number;
  record: SectionRecord;
}

/** The sections' entries in order, noting each section's entry count and record into `into`. */
async function* countedEntries(all: AsyncIterable<RootfsSection>, into: TarSection[]): EntryStream {
  for await (const s of all) {
    let count = 0;
    for await (const e of s.entries()) {
      count++;
      yield e;
    }
    into.push({ id: s.id, key: s.key, count, record: s.record() });
  }
}

/** The sections again, read back from the filesystem tar written from them (same keys, same entries). */
async function* tarSections(tarPath: string, written: TarSection[]): AsyncGenerator<RootfsSection> {
  const it = readTarFile(tarPath)[Symbol.asyncIterator]();
  async function* take(n: number): EntryStream {
    for (let i = 0; i < n; i++) {
      const r = await it.next();
      if (r.done === true)
        throw new MobyError(`The filesystem tar "${tarPath}" ended early: this is a bug`, { code: 'BUILD' });
      yield r.value;
    }
  }
  try {
    for (const t of written) {
      let used = false;
      yield {
        id: t.id,
        key: t.key,
        record: () => t.record,
        entries: () => {
          used = true;
          return take(t.count);
        },
        replay: () => void (used = false),
      };
      if (!used) for await (const e of take(t.count)) e.body?.resume();
    }
  } finally {
    await it.return?.();
  }
}

/**
 * The root filesystem as the chosen formats need it. When none reads the tar (kernel+initrd,
 * tar-kernel-initrd) the sections go straight into the initrd; otherwise they are written once to a temp tar
 * and the initrd (same sections, same keys) and the boot-less tar are derived from that file on demand.
 */
async function materialise(
  x: ExecuteInput,
  workDir: string,
): Promise<{
  kernel: KernelFiles;
  inputs: Pick<FormatInputs, 'initrdPath' | 'writeInitrd' | 'rootfsTarPath' | 'rootfsTarWithoutBootPath'>;
}> {
  let parts: KernelOutputs | undefined;
  const onKernel = (p: KernelOutputs): void => void (parts = p);
  const needs = new Set(x.plan.formats.flatMap((f) => f.needs));
  if (!needs.has('tar') && !needs.has('tar-without-boot')) {
    let kernel: KernelFiles | undefined;
    const initrd = await initrdOf(
      x,
      () => sections(x, workDir, onKernel),
      workDir,
      async () => {
        kernel = await placeKernel(x, parts, workDir);
      },
    );
    const none = (): Promise<string> =>
      Promise.reject(
        new MobyError('A format asked for the filesystem tar without declaring it in `needs`: this is a bug', {
          code: 'BUILD',
        }),
      );
    return {
      kernel: kernel ?? (await placeKernel(x, parts, workDir)),
      inputs: {
        initrdPath: () => initrd.path(),
        writeInitrd: (dest, before) => initrd.writeTo(dest, before),
        rootfsTarPath: none,
        rootfsTarWithoutBootPath: none,
      },
    };
  }
  const tarPath = join(workDir, 'rootfs.tar');
  const written: TarSection[] = [];
  await pipeline(tarStream(countedEntries(sections(x, workDir, onKernel), written)), createWriteStream(tarPath), {
    signal: x.signal,
  }).catch((err: unknown) => {
    throw asIoError('write', tarPath, err);
  });
  const noBoot = join(workDir, 'rootfs-without-boot.tar');
  const initrd = once(() => initrdOf(x, () => abortableSections(tarSections(tarPath, written), x.signal), workDir));
  return {
    kernel: await placeKernel(x, parts, workDir),
    inputs: {
      rootfsTarPath: () => Promise.resolve(tarPath),
      initrdPath: async () => (await initrd()).path(),
      writeInitrd: async (dest, before) => (await initrd()).writeTo(dest, before),
      rootfsTarWithoutBootPath: once(async () => {
        await pipeline(tarStream(withoutBoot(readTarFile(tarPath))), createWriteStream(noBoot), { signal: x.signal });
        return noBoot;
      }),
    },
  };
}

/** The kernel's files in the work directory, and what else the kernel section told of it. */
interface KernelFiles {
  kernelPath: string;
  ucodePath?: string;
  cmdline: string;
  config?: string;
}

/**
 * Writes the kernel binary (and microcode) the kernel section gave into the work directory. A blob the
 * section cache kept (unread: store/sections.ts) is copied there and checked on the copy; when it does not
 * match, its entry is evicted and DamagedSegment thrown, so that `initrdOf` plans the initrd once more
 * with the kernel section made anew: a damaged kernel is never shipped.
 */
async function placeKernel(x: ExecuteInput, parts: KernelOutputs | undefined, workDir: string): Promise<KernelFiles> {
  const kernelPath = join(workDir, 'kernel');
  await placeBlob(x, 'kernel', parts?.kernel ?? Buffer.alloc(0), kernelPath);
  let ucodePath: string | undefined;
  if (parts?.ucode !== undefined) await placeBlob(x, 'ucode', parts.ucode, (ucodePath = join(workDir, 'ucode.cpio')));
  return {
    kernelPath,
    cmdline: parts?.cmdline ?? '',
    ...(ucodePath === undefined ? {} : { ucodePath }),
    ...(parts?.config === undefined ? {} : { config: parts.config }),
  };
}

async function placeBlob(x: ExecuteInput, name: string, blob: Buffer | KeptBlob, to: string): Promise<void> {
  if (Buffer.isBuffer(blob)) return writeFile(to, blob);
  if (await copyKeptBlob(blob, to)) return;
  await x.sectionCache?.evict(blob.key, `its ${name} does not match its digest`).catch(() => {});
  throw new DamagedSegment(blob.key);
}

async function formatInputs(x: ExecuteInput, workDir: string): Promise<FormatInputs> {
  const { kernel, inputs } = await materialise(x, workDir);
  return {
    kernelPath: kernel.kernelPath,
    cmdline: kernel.cmdline,
    ...(kernel.ucodePath === undefined ? {} : { ucodePath: kernel.ucodePath }),
    ...(kernel.config === undefined ? {} : { kernelConfig: kernel.config }),
    ...inputs,
  };
}

/**
 * The kernel check (kernel-configs/): warns about options the system may need and fails, before any output
 * is written, when a chosen format cannot boot without an option the kernel's config lacks.
 */
function checkKernelFor(x: ExecuteInput, inputs: FormatInputs, facts: KernelFacts & { configText?: string }): void {
  if (x.assemble.spec.kernel === undefined) return;
  const formats = x.plan.formats.map((f) => f.name);
  const name = x.assemble.spec.kernel.image;
  const known = {
    ...(facts.configText === undefined ? {} : { configText: facts.configText }),
    ...(facts.modules === undefined ? {} : { modules: facts.modules }),
  };
  const result = checkKernel({
    kernelPath: inputs.kernelPath,
    name,
    formats: x.plan.formats,
    compress: x.compress,
    arch: x.arch,
    ...known,
  });
  for (const message of result.warnings) x.reporter.emit({ type: 'warn', message });
  if (result.errors.length === 0) return;
  throw new MobyError(
    `Cannot build ${formats.join(', ')}: the kernel's config lacks what it needs\n  ${result.errors.join('\n  ')}`,
    {
      code: 'BUILD',
      hint: 'use a kernel built with these options (see kernel-configs/), or choose formats it can boot',
    },
  );
}

/**
 * The kernel's config (its modules tar's, else the embedded one) and, when a chosen format may need a loader
 * initrd, its modules as the filesystem holds them; empty without a kernel.
 */
async function kernelFactsFor(x: ExecuteInput, inputs: FormatInputs): Promise<KernelFacts & { configText?: string }> {
  if (x.assemble.spec.kernel === undefined) return {};
  const configText = inputs.kernelConfig ?? (await keptEmbeddedConfig(x, inputs.kernelPath));
  if (configText === undefined) return {};
  const config = parseConfig(configText);
  if (!x.plan.formats.some((f) => f.loader !== undefined)) return { configText, config };
  const modules = await moduleIndexOf(abortable(readTarFile(await inputs.rootfsTarWithoutBootPath()), x.signal));
  return { configText, config, ...(modules === undefined ? {} : { modules }) };
}

/**
 * The config embedded in the kernel at `kernelPath`, kept in `x.facts` under what determines the kernel's
 * bytes (its image's manifest digest, the binary's name, `--decompress-kernel`): a build whose kernel did not
 * change neither reads the kernel (several MiB) nor decompresses its payload to look for it. An answer that
 * cannot be read back as one is found again; one that depends on this host is not kept. The kernel check and
 * the formats that ask later in this build get the same answer without reading the kernel either.
 */
async function keptEmbeddedConfig(x: ExecuteInput, kernelPath: string): Promise<string | undefined> {
  const spec = x.assemble.spec.kernel;
  const digest = x.assemble.images.kernel?.manifestDigest;
  const what =
    spec === undefined || digest === undefined
      ? undefined
      : embeddedConfigFactOf(digest, spec.binary ?? 'kernel', x.assemble.decompressKernel);
  const debug = (message: string): void =>
    x.reporter.emit({ type: 'debug', message: `kernel embedded config: ${message}` });
  const saved = what === undefined ? undefined : asEmbeddedConfig(await savedToc(x.facts, what));
  if (saved !== undefined) {
    rememberEmbeddedConfig(kernelPath, saved);
    debug(`from the cache (${saved.text === undefined ? 'none' : 'found'})`);
    return saved.text;
  }
  const { found, lasting } = findEmbeddedConfig(kernelPath);
  if (what !== undefined && lasting) await putToc(x.facts, what, found);
  debug(`read from the kernel (${found.text === undefined ? 'none' : 'found'})`);
  return found.text;
}

/** Writes every format's files; returns their paths. */
async function writeFormats(x: ExecuteInput, workDir: string): Promise<string[]> {
  const inputs = await formatInputs(x, workDir);
  const facts = await kernelFactsFor(x, inputs);
  checkKernelFor(x, inputs, facts);
  const kernel: KernelFacts = {
    arch: x.arch,
    ...(facts.config === undefined ? {} : { config: facts.config }),
    ...(facts.modules === undefined ? {} : { modules: facts.modules }),
  };
  checkLoaderClash(x, kernel);
  const loader = buildLoader(x.plan.formats, kernel);
  await mkdir(x.plan.dir, { recursive: true }).catch((err: unknown) => {
    throw asIoError('create the output directory', x.plan.dir, err);
  });
  const files = [...new Set(x.plan.formats.flatMap((f) => writtenOutputs(f, x.plan.name, kernel)))];
  await sweepKilled(
    x,
    files.map((f) => join(x.plan.dir, f)),
  );
  const written: string[] = [];
  try {
    for (const [i, format] of x.plan.formats.entries()) {
      x.signal.throwIfAborted();
      await writeFormat(x, { inputs, kernel, loader, workDir: join(workDir, `format-${i}`), format });
      written.push(...writtenOutputs(format, x.plan.name, kernel).map((f) => join(x.plan.dir, f)));
    }
  } catch (err) {
    // A build either produces all its outputs or none: earlier formats' files go too.
    await Promise.all(written.map((f) => rm(f, { force: true })));
    throw err;
  }
  x.reporter.emit({ type: 'info', message: `Create outputs:\n  ${files.join(' ')}` });
  return files.map((f) => join(x.plan.dir, f));
}

/** Removes what a build killed while writing these outputs left beside them (util/atomic.ts `sweepTemps`). */
async function sweepKilled(x: ExecuteInput, outputs: readonly string[]): Promise<void> {
  const swept = await sweepTemps(outputs);
  if (swept.length > 0)
    x.reporter.emit({
      type: 'debug',
      message: `Removed ${swept.length} temporary file(s) left by a killed build: ${swept.join(' ')}`,
    });
}

/** A loader initrd (`N-initrd.img`) must not replace another chosen format's own file of that name (kernel+initrd's). */
function checkLoaderClash(x: ExecuteInput, kernel: KernelFacts): void {
  const users = x.plan.formats.filter((f) => usesLoader(f, kernel));
  const files = new Set(users.map((f) => f.loader?.file(x.plan.name)));
  const other = x.plan.formats.find((f) => f.outputs(x.plan.name).some((o) => files.has(o)));
  if (other === undefined) return;
  const file = other.outputs(x.plan.name).find((o) => files.has(o));
  throw new MobyError(
    `Cannot build ${other.name} and ${users.map((f) => f.name).join(', ')} together: with this kernel both write ${file} (${users.length > 1 ? 'their' : 'its'} loader initrd)`,
    {
      code: 'USAGE',
      exitCode: 2,
      hint: 'build them in separate runs with different --name or --dir',
    },
  );
}

async function writeFormat(
  x: ExecuteInput,
  w: {
    inputs: FormatInputs;
    kernel: KernelFacts;
    loader: BuildLoader | undefined;
    workDir: string;
    format: OutputFormat;
  },
): Promise<void> {
  await mkdir(w.workDir);
  const ctx: FormatContext = {
    inputs: w.inputs,
    base: x.plan.base,
    sizeBytes: x.sizeBytes,
    sourceDateEpoch: x.assemble.mtime,
    workDir: w.workDir,
    arch: x.arch,
    kernel: w.kernel,
    ...(w.loader === undefined ? {} : { loader: w.loader }),
    reporter: x.reporter,
    signal: x.signal,
  };
  await w.format.write(ctx);
  await rm(w.workDir, { recursive: true, force: true });
}

/**
 * Runs the build; on failure or abort no output file is left and the work directory is removed. Returns the
 * files written into the output directory (none when the output is streamed).
 */
export async function executeBuild(x: ExecuteInput): Promise<string[]> {
  const work = await (x.openWork ?? tmpWork)();
  try {
    if (x.plan.streamTo === undefined) return await writeFormats(x, work.path);
    await streamOut(x, work.path, x.plan.streamTo);
    return [];
  } finally {
    await work.remove();
  }
}

async function tmpWork(): Promise<WorkDir> {
  const path = await mkdtemp(join(tmpdir(), 'mobyts-build-')).catch((err: unknown) => {
    throw asIoError('create a work directory in', tmpdir(), err);
  });
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
