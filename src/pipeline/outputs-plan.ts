/**
 * Which formats to build and where their files go (docs/linuxkit-behaviour.md#build-flags), decided before anything is
 * pulled. Pure: no I/O.
 */
import { join } from 'node:path';
import { allFormats, getFormat, isFormatName } from '../outputs/index.ts';
import type { OutputFormat } from '../outputs/format.ts';
import type { MobySpec } from '../spec/types.ts';
import { usageError } from '../util/errors.ts';
import type { FormatName } from '../spec/format-names.ts';
import { didYouMean } from '../spec/suggest.ts';
import type { BuildOptions } from './options.ts';

export interface OutputPlan {
  formats: OutputFormat[];
  /** `<dir>/<name>`; each format appends its suffixes. */
  base: string;
  dir: string;
  name: string;
  /** `-o FILE|-`: the one streamable format goes here (stdout for `-`). */
  streamTo?: string;
}

/** The formats to build: `--format`, else the spec's `outputs:`, else `tar` with `-o`, else `kernel+initrd`. */
export function selectFormats(opts: Pick<BuildOptions, 'format' | 'output'>, spec: MobySpec): FormatName[] {
  const names = allFormats().map((f) => f.name);
  for (const f of opts.format) {
    if (!isFormatName(f))
      throw usageError(
        `Cannot build format "${f}": unknown format${didYouMean(f, names, 1 / 2)}`,
        `formats: ${names.join(', ')}`,
      );
  }
  const fallback: FormatName = opts.output === undefined ? 'kernel+initrd' : 'tar';
  const chosen: FormatName[] =
    opts.format.length > 0
      ? opts.format.filter(isFormatName)
      : spec.outputs !== undefined && spec.outputs.length > 0
        ? spec.outputs.map((o) => o.format)
        : [fallback];
  return [...new Set(chosen)];
}

/**
 * Every file the plan writes, in format order: the `-o` target, or `DIR/NAME…` (shared names once). A loader
 * initrd depends on the kernel, which is not pulled yet: it is listed last, saying when it is written.
 */
export function plannedOutputFiles(plan: OutputPlan): string[] {
  if (plan.streamTo !== undefined) return [plan.streamTo === '-' ? '<stdout>' : plan.streamTo];
  const files = [...new Set(plan.formats.flatMap((f) => f.outputs(plan.name)))].map((f) => join(plan.dir, f));
  const loaders = plan.formats.filter((f) => f.loader !== undefined);
  const loader = loaders[0]?.loader?.file(plan.name);
  if (loader === undefined) return files;
  const names = loaders.map((f) => f.name).join(', ');
  return [
    ...files,
    `${join(plan.dir, loader)} (loader initrd, when the kernel has what ${names} need${loaders.length > 1 ? '' : 's'} to mount root only as modules)`,
  ];
}

function checkStreamOutput(opts: BuildOptions, formats: OutputFormat[]): void {
  if (opts.output === undefined) return;
  if (opts.name !== undefined || opts.dir !== undefined)
    throw usageError('Cannot use -o with --name or --dir: -o names the output file itself');
  const only = formats[0];
  if (formats.length !== 1 || only === undefined || !only.streamable) {
    throw usageError(
      `Cannot write ${formats.map((f) => f.name).join(', ')} to -o: only one format, tar or docker, can go to a single file or stdout`,
    );
  }
  if (opts.inputTar !== undefined && opts.inputTar === opts.output)
    throw usageError('Cannot use the same file for --input-tar and -o');
}

/**
 * The usage error for a format `arch` cannot have: an EFI format for an arch without EFI loaders, or a BIOS
 * format (syslinux and ISOLINUX are PC loaders), which names the EFI formats that do build for `arch`.
 */
function archRefusal(format: OutputFormat, arch: string): Error {
  const archs = format.archs?.join(', ') ?? '';
  if (format.boot?.firmware === 'efi')
    return usageError(`Cannot build format "${format.name}" for ${arch}: mobyts has EFI loaders for ${archs} only`);
  const efi = allFormats()
    .filter((f) => f.boot?.firmware === 'efi' && f.archs?.includes(arch) === true)
    .map((f) => f.name);
  const instead = efi.length === 0 ? '' : `; for ${arch} use an EFI format: ${efi.join(', ')}`;
  return usageError(
    `Cannot build format "${format.name}" for ${arch}: it boots with a PC BIOS loader and supports ${archs} only${instead}`,
  );
}

/**
 * The output plan; USAGE errors for unknown formats and broken `-o` rules (all before any pull).
 * `defaultName` is the spec loader's (the last input's basename, `moby` for stdin).
 */
export function planOutputs(defaultName: string, opts: BuildOptions, spec: MobySpec): OutputPlan {
  const formats = selectFormats(opts, spec).map(getFormat);
  checkStreamOutput(opts, formats);
  const unsupported = formats.find((f) => f.archs !== undefined && !f.archs.includes(opts.arch));
  if (unsupported !== undefined) throw archRefusal(unsupported, opts.arch);
  const name = opts.name ?? defaultName;
  const dir = opts.dir ?? '.';
  return { formats, base: join(dir, name), dir, name, ...(opts.output === undefined ? {} : { streamTo: opts.output }) };
}

/** What the chosen formats consume: the fs tar (to a temp file), the tar without boot/*, the initrd. */
export function needsOf(formats: OutputFormat[]): Set<'initrd' | 'tar' | 'tar-without-boot'> {
  return new Set(formats.flatMap((f) => f.needs));
}
