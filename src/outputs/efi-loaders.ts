/**
 * The two EFI loaders the formats use: a unified kernel image (systemd-stub + kernel + initrd + cmdline, one PE
 * file, no loader config) and a GRUB EFI binary with its grub.cfg in a memdisk (for LinuxKit's GRUB menus).
 * Both are byte-reproducible: the PE timestamp and checksum are zeroed, the memdisk tar has fixed metadata.
 * Per architecture (docs/formats.md#arm64): amd64 uses the host's systemd-boot-efi and grub-efi-amd64-bin;
 * arm64 uses Debian's arm64 systemd-boot-efi and grub-efi-arm64-bin, fetched as .debs and unpacked (the
 * host's grub-mkimage writes arm64 images; aarch64-linux-gnu-objcopy edits arm64 PE files). Nothing is emulated.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open, stat, writeFile, mkdir, utimes } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { join } from 'node:path';
import { TOOLS } from '../tools/catalog.ts';
import { debFile, type DebFile } from '../tools/deb-files.ts';
import { pathArg, runTool } from '../tools/run-tool.ts';
import type { ToolRequirement } from './format.ts';

/** One architecture's EFI loaders and the host tools that write them. */
export interface EfiArch {
  /** The removable-media loader path the firmware boots, e.g. `EFI/BOOT/BOOTX64.EFI` (UEFI spec 3.5.1.1). */
  bootPath: string;
  /** grub-mkimage's `-O` target; the modules are in `grubModules`. */
  grubTarget: string;
  grubModules: DebFile;
  stub: DebFile;
  objcopy: ToolRequirement;
  /** What the preflight checks for a UKI / for a GRUB image of this arch (besides the FAT and ISO tools). */
  ukiTools: readonly ToolRequirement[];
  grubTools: readonly ToolRequirement[];
}

const FETCH_TOOLS = [TOOLS.aptCache, TOOLS.aptGet, TOOLS.dpkgDeb] as const;

export const EFI_AMD64: EfiArch = {
  bootPath: 'EFI/BOOT/BOOTX64.EFI',
  grubTarget: 'x86_64-efi',
  grubModules: { package: 'grub-efi-amd64-bin', path: '/usr/lib/grub/x86_64-efi' },
  stub: { package: 'systemd-boot-efi', path: TOOLS.systemdStub.command },
  objcopy: TOOLS.objcopy,
  ukiTools: [TOOLS.objcopy, TOOLS.systemdStub],
  grubTools: [TOOLS.grubMkimage, TOOLS.grubEfiModules],
};

export const EFI_ARM64: EfiArch = {
  bootPath: 'EFI/BOOT/BOOTAA64.EFI',
  grubTarget: 'arm64-efi',
  grubModules: { package: 'grub-efi-arm64-bin', path: '/usr/lib/grub/arm64-efi' },
  stub: { package: 'systemd-boot-efi', path: '/usr/lib/systemd/boot/efi/linuxaa64.efi.stub' },
  objcopy: TOOLS.objcopyAarch64,
  ukiTools: [TOOLS.objcopyAarch64, ...FETCH_TOOLS],
  grubTools: [TOOLS.grubMkimage, ...FETCH_TOOLS],
};

const EFI_ARCHS: Readonly<Record<string, EfiArch>> = { amd64: EFI_AMD64, arm64: EFI_ARM64 };

/** The architectures with EFI loaders: what the EFI formats' `archs` list. */
export const EFI_ARCH_NAMES: readonly string[] = Object.keys(EFI_ARCHS);

/** The EFI loaders of `arch`; a caller bug when the format's `archs` let another arch through. */
export function efiArch(arch: string): EfiArch {
  const a = EFI_ARCHS[arch];
  if (a === undefined) throw new Error(`efiArch: no EFI loaders for ${arch}`);
  return a;
}

export interface UkiOptions {
  arch: string;
  kernel: string;
  initrd: string;
  cmdline: string;
  out: string;
  workDir: string;
  sourceDateEpoch: number;
  signal?: AbortSignal;
}

const OS_RELEASE = 'NAME="LinuxKit"\nID=linuxkit\nPRETTY_NAME="LinuxKit"\n';
const LINUX_VMA = 0x2000000;
const ALIGN = 0x200000;

/**
 * The kernel as systemd-stub can start it: a PE image. An arm64 `Image.gz` (gzip; arm64 kernels do not
 * decompress themselves) is gunzipped into `workDir`; an `Image` or an EFI zboot image (both PE) is used as is.
 */
async function peKernel(kernel: string, workDir: string, signal?: AbortSignal): Promise<string> {
  const head = Buffer.alloc(2);
  const f = await open(kernel, 'r');
  try {
    await f.read(head, 0, 2, 0);
  } finally {
    await f.close();
  }
  if (head[0] !== 0x1f || head[1] !== 0x8b) return kernel;
  const out = join(workDir, 'Image');
  await pipeline(
    createReadStream(kernel),
    createGunzip(),
    createWriteStream(out),
    ...(signal === undefined ? [] : [{ signal }]),
  );
  return out;
}

/** Builds a UKI at `out` (objcopy over the arch's systemd-stub). Sections are placed so they cannot overlap. */
export async function makeUki(o: UkiOptions): Promise<void> {
  const a = efiArch(o.arch);
  const stub = await debFile(a.stub, o.arch, o.signal === undefined ? {} : { signal: o.signal });
  await mkdir(o.workDir, { recursive: true });
  const kernel = await peKernel(o.kernel, o.workDir, o.signal);
  const osrel = join(o.workDir, 'os-release');
  const cmdline = join(o.workDir, 'cmdline');
  await writeFile(osrel, OS_RELEASE);
  await writeFile(cmdline, o.cmdline);
  const kernelSize = (await stat(kernel)).size;
  const initrdVma = Math.ceil((LINUX_VMA + kernelSize) / ALIGN) * ALIGN;
  const hex = (n: number) => `0x${n.toString(16)}`;
  await runTool(
    a.objcopy,
    [
      '--add-section',
      `.osrel=${osrel}`,
      '--change-section-vma',
      '.osrel=0x20000',
      '--add-section',
      `.cmdline=${cmdline}`,
      '--change-section-vma',
      '.cmdline=0x30000',
      '--add-section',
      `.linux=${kernel}`,
      '--change-section-vma',
      `.linux=${hex(LINUX_VMA)}`,
      '--add-section',
      `.initrd=${o.initrd}`,
      '--change-section-vma',
      `.initrd=${hex(initrdVma)}`,
      stub,
      pathArg(o.out),
    ],
    { sourceDateEpoch: o.sourceDateEpoch, ...(o.signal ? { signal: o.signal } : {}) },
  );
  await zeroPeStamps(o.out);
}

/** Zeroes the COFF TimeDateStamp and the optional header CheckSum (firmware ignores both for EFI images). */
export async function zeroPeStamps(path: string): Promise<void> {
  const f = await open(path, 'r+');
  try {
    const head = Buffer.alloc(4);
    await f.read(head, 0, 4, 0x3c);
    const pe = head.readUInt32LE(0);
    const zero = Buffer.alloc(4);
    await f.write(zero, 0, 4, pe + 8);
    await f.write(zero, 0, 4, pe + 88);
  } finally {
    await f.close();
  }
}

export interface GrubOptions {
  arch: string;
  /** The grub.cfg placed in the memdisk as /boot/grub/grub.cfg. */
  config: string;
  out: string;
  workDir: string;
  sourceDateEpoch: number;
  signal?: AbortSignal;
}

const GRUB_MODULES = [
  'memdisk',
  'tar',
  'part_gpt',
  'part_msdos',
  'fat',
  'iso9660',
  'linux',
  'normal',
  'search',
  'search_fs_file',
  'configfile',
  'echo',
  'serial',
  'terminal',
  'test',
  'reboot',
  'all_video',
  'gzio',
];

/**
 * Builds the arch's GRUB EFI loader (BOOTX64.EFI, BOOTAA64.EFI) with grub-mkimage and a memdisk tar holding
 * `config` (grub-mkstandalone is not reproducible; this is).
 */
export async function makeGrubEfi(o: GrubOptions): Promise<void> {
  const a = efiArch(o.arch);
  const modules = await debFile(a.grubModules, o.arch, o.signal === undefined ? {} : { signal: o.signal });
  const md = join(o.workDir, 'memdisk');
  await mkdir(join(md, 'boot', 'grub'), { recursive: true });
  await writeFile(join(md, 'boot', 'grub', 'grub.cfg'), o.config);
  for (const d of ['boot/grub/grub.cfg', 'boot/grub', 'boot', '.'])
    await utimes(join(md, d), o.sourceDateEpoch, o.sourceDateEpoch);
  const tar = join(o.workDir, 'memdisk.tar');
  const run = { sourceDateEpoch: o.sourceDateEpoch, ...(o.signal ? { signal: o.signal } : {}) };
  await runTool(
    TOOLS.tar,
    [
      `--mtime=@${o.sourceDateEpoch}`,
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--sort=name',
      '--format=ustar',
      '--mode=u=rwX,go=rX',
      '-C',
      pathArg(md),
      '-cf',
      pathArg(tar),
      '--',
      'boot',
    ],
    run,
  );
  await runTool(
    TOOLS.grubMkimage,
    ['-O', a.grubTarget, '-d', modules, '-o', o.out, '-p', '(memdisk)/boot/grub', '-m', tar, ...GRUB_MODULES],
    run,
  );
}
