/**
 * What `mobyts run qemu NAME` boots, as `linuxkit run qemu` finds it: NAME is either a file (chosen by its
 * suffix) or the `-d/-n` prefix of a build, whose outputs are looked for in LinuxKit's order
 * (docs/linuxkit-behaviour.md#pkg-run).
 */
import { readFile, stat } from 'node:fs/promises';
import { MobyError } from '../util/errors.ts';
import type { BootMedia, Firmware } from './qemu-argv.ts';

export interface BootTarget extends BootMedia {
  /** The LinuxKit output format this boots (`kernel+initrd`, `iso-efi`, ...), or `file` for a plain file. */
  format: string;
}

interface Candidate {
  format: string;
  files: (prefix: string) => string[];
  make: (files: string[]) => Omit<BootTarget, 'format'>;
}

const disk = (firmware: Firmware, imageFormat: string) => (f: string[]): Omit<BootTarget, 'format'> =>
  ({ kind: 'disk', firmware, image: f[0], imageFormat });

/** In the order tried; the first whose files all exist wins. */
export const CANDIDATES: readonly Candidate[] = [
  { format: 'kernel+initrd', files: (p) => [`${p}-kernel`, `${p}-initrd.img`, `${p}-cmdline`], make: (f) => ({ kind: 'kernel', firmware: 'bios', kernel: f[0], initrd: f[1], cmdline: f[2] }) },
  { format: 'iso-bios', files: (p) => [`${p}.iso`], make: (f) => ({ kind: 'cdrom', firmware: 'bios', image: f[0] }) },
  { format: 'iso-efi', files: (p) => [`${p}-efi.iso`], make: (f) => ({ kind: 'cdrom', firmware: 'efi', image: f[0] }) },
  { format: 'iso-efi-initrd', files: (p) => [`${p}-efi-initrd.iso`], make: (f) => ({ kind: 'cdrom', firmware: 'efi', image: f[0] }) },
  { format: 'uki', files: (p) => [`${p}.efi`], make: (f) => ({ kind: 'efi-kernel', firmware: 'efi', kernel: f[0] }) },
  { format: 'raw-bios', files: (p) => [`${p}-bios.img`], make: disk('bios', 'raw') },
  { format: 'raw-efi', files: (p) => [`${p}-efi.img`], make: disk('efi', 'raw') },
  { format: 'qcow2-bios', files: (p) => [`${p}.qcow2`], make: disk('bios', 'qcow2') },
  { format: 'qcow2-efi', files: (p) => [`${p}-efi.qcow2`], make: disk('efi', 'qcow2') },
  { format: 'aws', files: (p) => [`${p}.raw`], make: disk('bios', 'raw') },
  { format: 'vhd', files: (p) => [`${p}.vhd`], make: disk('bios', 'vpc') },
  { format: 'vmdk', files: (p) => [`${p}.vmdk`], make: disk('bios', 'vmdk') },
];

const BY_SUFFIX: ReadonlyArray<[RegExp, Omit<BootTarget, 'format' | 'image' | 'kernel'>, 'image' | 'kernel']> = [
  [/-efi(-initrd)?\.iso$/, { kind: 'cdrom', firmware: 'efi' }, 'image'],
  [/\.iso$/, { kind: 'cdrom', firmware: 'bios' }, 'image'],
  [/\.efi$/, { kind: 'efi-kernel', firmware: 'efi' }, 'kernel'],
  [/-efi\.img$/, { kind: 'disk', firmware: 'efi', imageFormat: 'raw' }, 'image'],
  [/-efi\.qcow2$/, { kind: 'disk', firmware: 'efi', imageFormat: 'qcow2' }, 'image'],
  [/\.qcow2$/, { kind: 'disk', firmware: 'bios', imageFormat: 'qcow2' }, 'image'],
  [/\.vhd$/, { kind: 'disk', firmware: 'bios', imageFormat: 'vpc' }, 'image'],
  [/\.vmdk$/, { kind: 'disk', firmware: 'bios', imageFormat: 'vmdk' }, 'image'],
  [/\.(img|raw)$/, { kind: 'disk', firmware: 'bios', imageFormat: 'raw' }, 'image'],
];

/** The boot target for a single file, by its suffix; undefined when the suffix means nothing to us. */
export function targetForFile(path: string): BootTarget | undefined {
  const hit = BY_SUFFIX.find(([re]) => re.test(path));
  if (hit === undefined) return undefined;
  return { format: 'file', ...hit[1], [hit[2]]: path };
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

/**
 * Finds what to boot for `name`: the file itself when it is one, else the first candidate (or the one named
 * by `format`) whose files exist. For kernel+initrd the cmdline file's content replaces its path. Throws a
 * MobyError (NOT_FOUND) listing what was looked for.
 */
export async function findBootTarget(name: string, format?: string): Promise<BootTarget> {
  if (format === undefined && await isFile(name)) {
    const t = targetForFile(name);
    if (t !== undefined) return t;
    throw new MobyError(`Cannot boot "${name}": unknown image type`, { code: 'USAGE', exitCode: 2, hint: 'name a .iso, .img, .raw, .qcow2, .vhd, .vmdk or .efi file, or the prefix of a build (-d/-n)' });
  }
  const candidates = format === undefined ? CANDIDATES : CANDIDATES.filter((c) => c.format === format);
  if (candidates.length === 0) {
    throw new MobyError(`Cannot boot format "${format}": not bootable by mobyts run qemu`, { code: 'USAGE', exitCode: 2, hint: `use one of ${CANDIDATES.map((c) => c.format).join(', ')}` });
  }
  for (const c of candidates) {
    const files = c.files(name);
    if ((await Promise.all(files.map(isFile))).every(Boolean)) {
      const target: BootTarget = { format: c.format, ...c.make(files) };
      if (target.cmdline !== undefined) target.cmdline = (await readFile(target.cmdline, 'utf8')).trim();
      return target;
    }
  }
  const looked = candidates.flatMap((c) => c.files(name)).join(', ');
  throw new MobyError(`Cannot boot "${name}": no build output found (looked for ${looked})`, {
    code: 'NOT_FOUND', hint: `build one first, e.g. mobyts build -n ${name} spec.yml`,
  });
}
