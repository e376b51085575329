/**
 * FAT filesystem images built without mounting (mkfs.vfat + mtools), byte-reproducible: fixed label time
 * (`--invariant`), a serial derived from the content, directories and files created in sorted order, files stamped
 * SOURCE_DATE_EPOCH (`mcopy -m`; mtools stamps new directories with SOURCE_DATE_EPOCH from the environment).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { TOOLS } from '../tools/catalog.ts';
import { pathArg, runTool } from '../tools/run-tool.ts';
import { MobyError } from '../util/errors.ts';
import { MIB, roundUp } from './partition/disk.ts';

export interface FatFile {
  /** Path inside the filesystem, e.g. `EFI/BOOT/BOOTX64.EFI`. */
  dest: string;
  /** A host file to copy, or literal content. */
  from: { file: string } | { text: string };
}

export interface FatOptions {
  /** Where to write the image. */
  path: string;
  /** Scratch directory (created). */
  stageDir: string;
  files: readonly FatFile[];
  label: string;
  sourceDateEpoch: number;
  /** Sectors before the filesystem on its disk (mkfs.vfat -h), for BIOS loaders. */
  hiddenSectors?: number;
  signal?: AbortSignal;
}

/** SHA-256 over the files' names and contents, the seed of every content-derived id. */
export async function contentHash(files: readonly FatFile[]): Promise<Buffer> {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => cmp(a.dest, b.dest))) {
    h.update(`${f.dest}\0`);
    if ('text' in f.from) h.update(f.from.text);
    else for await (const chunk of createReadStream(f.from.file)) h.update(chunk as Buffer);
  }
  return h.digest();
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether a FAT long name can hold `name` (no `" * : < > ? \\ |`, no control characters, not empty). */
function fatNameOk(name: string): boolean {
  return name !== '' && ![...name].some((c) => c.charCodeAt(0) < 0x20 || '"*:<>?\\|'.includes(c));
}

/**
 * `dest` as an mtools target: mtools reads the directories of a target as patterns, so `[` and `]` are
 * escaped there with a backslash; the last component is taken literally and must not be escaped (a backslash
 * is not a FAT character). Names FAT cannot hold are refused (BUILD) rather than mangled.
 */
export function fatTarget(dest: string): string {
  const parts = dest.split('/');
  for (const p of parts) {
    if (!fatNameOk(p))
      throw new MobyError(
        `Cannot write "${dest}" into a FAT filesystem: FAT names cannot be empty or contain " * : < > ? \\ | or control characters`,
        { code: 'BUILD' },
      );
  }
  const last = parts.pop() ?? '';
  return `::/${[...parts.map((p) => p.replace(/[[\]]/g, '\\$&')), last].join('/')}`;
}

/** Writes the FAT image; returns its size in bytes. The size is the content plus 5% and 1 MiB, in whole MiB. */
export async function makeFat(opts: FatOptions): Promise<number> {
  for (const f of opts.files) fatTarget(f.dest);
  const total = await stageFiles(opts);
  const bytes = roundUp(total * 1.05 + MIB, MIB);
  const serial = (await contentHash(opts.files)).subarray(0, 4).toString('hex').toUpperCase();
  // mtools converts names through the locale's charset: under the pinned LC_ALL=C it would write each byte of
  // a UTF-8 name as a character of its own, so its calls run in C.UTF-8 (ASCII names are written the same).
  const env = {
    sourceDateEpoch: opts.sourceDateEpoch,
    env: { LC_ALL: 'C.UTF-8' },
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  const hidden = opts.hiddenSectors === undefined ? [] : ['-h', String(opts.hiddenSectors)];
  await runTool(
    TOOLS.mkfsVfat,
    ['--invariant', '-C', '-n', opts.label, '-i', serial, ...hidden, pathArg(opts.path), String(bytes / 1024)],
    env,
  );
  const dirs = fatDirs(opts.files);
  if (dirs.length > 0) await runTool(TOOLS.mmd, ['-i', pathArg(opts.path), ...dirs.map(fatTarget)], env);
  for (const f of [...opts.files].sort((a, b) => cmp(a.dest, b.dest))) {
    await runTool(
      TOOLS.mcopy,
      ['-m', '-Q', '-i', pathArg(opts.path), pathArg(join(opts.stageDir, f.dest)), fatTarget(f.dest)],
      env,
    );
  }
  return bytes;
}

/** Every directory the files need, parents first, sorted. */
function fatDirs(files: readonly FatFile[]): string[] {
  const dirs = new Set<string>();
  for (const f of files) for (let d = dirname(f.dest); d !== '.'; d = dirname(d)) dirs.add(d);
  return [...dirs].sort(cmp);
}

async function stageFiles(opts: FatOptions): Promise<number> {
  let total = 0;
  for (const f of opts.files) {
    const target = join(opts.stageDir, f.dest);
    await mkdir(dirname(target), { recursive: true });
    if ('text' in f.from) await writeFile(target, f.from.text);
    else await copyFile(f.from.file, target);
    await utimes(target, opts.sourceDateEpoch, opts.sourceDateEpoch);
    total += (await stat(target)).size;
  }
  return total;
}
