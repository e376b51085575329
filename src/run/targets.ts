/**
 * What `mobyts run qemu NAME` boots, as `linuxkit run qemu` finds it: NAME is either a file (chosen by its
 * suffix) or the `-d/-n` prefix of a build, whose outputs are looked for format by format. Both come from the
 * format records (`boot` and `outputs`); nothing here names a format or a file suffix of one.
 */
import { readFile, stat } from 'node:fs/promises';
import { allFormats } from '../outputs/index.ts';
import type { BootRecipe, OutputFormat } from '../outputs/format.ts';
import { withRoot } from '../outputs/format-kit.ts';
import { MobyError } from '../util/errors.ts';
import type { BootMedia } from './qemu-argv.ts';

export interface BootTarget extends BootMedia {
  /** The LinuxKit output format this boots (`kernel+initrd`, `iso-efi`, ...), or `file` for a plain file. */
  format: string;
}

type Bootable = OutputFormat & { boot: BootRecipe };

/**
 * The bootable formats in the order a prefix is tried: formats with more files first (kernel+iso's `N.iso`
 * is also iso-bios's, so the one whose every file exists must win), then in table order. A root-image format's
 * loader initrd counts among its files: with it, a kernel+squashfs prefix also holds kernel+initrd's three files,
 * and the root image must decide (the loader alone would wait for a root disk that is not attached).
 */
export function bootCandidates(): Bootable[] {
  const bootable = allFormats().filter((f): f is Bootable => f.boot !== undefined);
  return bootable
    .map((f, i) => ({ f, i, n: f.outputs('').length + (f.loader === undefined ? 0 : 1) }))
    .sort((a, b) => b.n - a.n || a.i - b.i)
    .map((x) => x.f);
}

/** The machine's boot media for a format's files (in `outputs()` order). */
export function mediaFor(recipe: BootRecipe, files: readonly string[]): BootMedia {
  const media: BootMedia = {
    kind: recipe.kind,
    firmware: recipe.firmware,
    ...(recipe.imageFormat === undefined ? {} : { imageFormat: recipe.imageFormat }),
    ...(recipe.rootAs === undefined ? {} : { rootAs: recipe.rootAs }),
  };
  recipe.roles.forEach((role, i) => {
    media[role] = files[i];
  });
  return media;
}

/** Single-file formats by the suffix of their file, longest first; any other `.img` boots as a raw BIOS disk. */
function suffixRules(): Array<[string, BootRecipe]> {
  const single = bootCandidates().filter((f) => f.boot.roles.length === 1);
  const rules = single.map((f): [string, BootRecipe] => [f.outputs('')[0] ?? '', f.boot]);
  rules.push(['.img', { kind: 'disk', firmware: 'bios', imageFormat: 'raw', roles: ['image'] }]);
  return rules.sort((a, b) => b[0].length - a[0].length);
}

/** The boot target for a single file, by its suffix; undefined when the suffix means nothing to us. */
export function targetForFile(path: string): BootTarget | undefined {
  const hit = suffixRules().find(([suffix]) => path.endsWith(suffix));
  if (hit === undefined) return undefined;
  return { format: 'file', ...mediaFor(hit[1], [path]) };
}

/**
 * A root-image format's extras: its loader initrd when the build wrote one, and `root=` on the command line
 * (unless it names one), as the loader or the kernel's built-in drivers expect the device.
 */
async function withLoader(format: OutputFormat, prefix: string, target: BootTarget): Promise<BootTarget> {
  if (format.loader === undefined) return target;
  const initrd = prefix + format.loader.file('');
  return {
    ...target,
    ...((await isFile(initrd)) ? { initrd } : {}),
    cmdline: withRoot(target.cmdline ?? '', format.loader.rootDevice),
  };
}

/** The format's output files for the build prefix `prefix` (a path: `dir/name`). */
function outputsAt(format: OutputFormat, prefix: string): string[] {
  return format.outputs('').map((suffix) => prefix + suffix);
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/**
 * Finds what to boot for `name`: the file itself when it is one, else the first candidate (or the one named
 * by `format`) whose files exist. For kernel+initrd the cmdline file's content replaces its path. Throws a
 * MobyError (NOT_FOUND) listing what was looked for.
 */
export async function findBootTarget(name: string, format?: string): Promise<BootTarget> {
  if (format === undefined && (await isFile(name))) {
    const t = targetForFile(name);
    if (t !== undefined) return t;
    throw new MobyError(`Cannot boot "${name}": unknown image type`, {
      code: 'USAGE',
      exitCode: 2,
      hint: 'name a .iso, .img, .raw, .qcow2, .vhd, .vmdk or .efi file, or the prefix of a build (-d/-n)',
    });
  }
  const all = bootCandidates();
  const candidates = format === undefined ? all : all.filter((c) => c.name === format);
  if (candidates.length === 0) {
    throw new MobyError(`Cannot boot format "${format}": not bootable by mobyts run qemu`, {
      code: 'USAGE',
      exitCode: 2,
      hint: `use one of ${all.map((c) => c.name).join(', ')}`,
    });
  }
  for (const c of candidates) {
    const files = outputsAt(c, name);
    if ((await Promise.all(files.map(isFile))).every(Boolean)) {
      const target: BootTarget = { format: c.name, ...mediaFor(c.boot, files) };
      if (target.cmdline !== undefined) target.cmdline = (await readFile(target.cmdline, 'utf8')).trim();
      return withLoader(c, name, target);
    }
  }
  const looked = candidates.flatMap((c) => outputsAt(c, name)).join(', ');
  throw new MobyError(`Cannot boot "${name}": no build output found (looked for ${looked})`, {
    code: 'NOT_FOUND',
    hint: `build one first, e.g. mobyts build -n ${name} spec.yml`,
  });
}
