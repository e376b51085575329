/**
 * The two EFI loaders the formats use: a unified kernel image (systemd-stub + kernel + initrd + cmdline, one PE
 * file, no loader config) and a GRUB EFI binary with its grub.cfg in a memdisk (for LinuxKit's GRUB menus).
 * Both are byte-reproducible: the PE timestamp and checksum are zeroed, the memdisk tar has fixed metadata.
 */
import { open, stat, writeFile, mkdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { TOOLS } from '../tools/catalog.ts';
import { pathArg, runTool } from '../tools/run-tool.ts';

export interface UkiOptions {
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

/** Builds a UKI at `out` (objcopy over systemd's linuxx64.efi.stub). Sections are placed so they cannot overlap. */
export async function makeUki(o: UkiOptions): Promise<void> {
  await mkdir(o.workDir, { recursive: true });
  const osrel = join(o.workDir, 'os-release');
  const cmdline = join(o.workDir, 'cmdline');
  await writeFile(osrel, OS_RELEASE);
  await writeFile(cmdline, o.cmdline);
  const kernelSize = (await stat(o.kernel)).size;
  const initrdVma = Math.ceil((LINUX_VMA + kernelSize) / ALIGN) * ALIGN;
  const hex = (n: number) => `0x${n.toString(16)}`;
  await runTool(TOOLS.objcopy, [
    '--add-section', `.osrel=${osrel}`, '--change-section-vma', '.osrel=0x20000',
    '--add-section', `.cmdline=${cmdline}`, '--change-section-vma', '.cmdline=0x30000',
    '--add-section', `.linux=${o.kernel}`, '--change-section-vma', `.linux=${hex(LINUX_VMA)}`,
    '--add-section', `.initrd=${o.initrd}`, '--change-section-vma', `.initrd=${hex(initrdVma)}`,
    TOOLS.systemdStub.command, pathArg(o.out),
  ], { sourceDateEpoch: o.sourceDateEpoch, ...(o.signal ? { signal: o.signal } : {}) });
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
  /** The grub.cfg placed in the memdisk as /boot/grub/grub.cfg. */
  config: string;
  out: string;
  workDir: string;
  sourceDateEpoch: number;
  signal?: AbortSignal;
}

const GRUB_MODULES = [
  'memdisk', 'tar', 'part_gpt', 'part_msdos', 'fat', 'iso9660', 'linux', 'normal', 'search', 'search_fs_file',
  'configfile', 'echo', 'serial', 'terminal', 'test', 'reboot', 'all_video', 'gzio',
];

/**
 * Builds BOOTX64.EFI with grub-mkimage and a memdisk tar holding `config` (grub-mkstandalone is not
 * reproducible; this is).
 */
export async function makeGrubEfi(o: GrubOptions): Promise<void> {
  const md = join(o.workDir, 'memdisk');
  await mkdir(join(md, 'boot', 'grub'), { recursive: true });
  await writeFile(join(md, 'boot', 'grub', 'grub.cfg'), o.config);
  for (const d of ['boot/grub/grub.cfg', 'boot/grub', 'boot', '.']) await utimes(join(md, d), o.sourceDateEpoch, o.sourceDateEpoch);
  const tar = join(o.workDir, 'memdisk.tar');
  const run = { sourceDateEpoch: o.sourceDateEpoch, ...(o.signal ? { signal: o.signal } : {}) };
  await runTool(TOOLS.tar, [
    `--mtime=@${o.sourceDateEpoch}`, '--owner=0', '--group=0', '--numeric-owner', '--sort=name', '--format=ustar', '--mode=u=rwX,go=rX',
    '-C', pathArg(md), '-cf', pathArg(tar), '--', 'boot',
  ], run);
  await runTool(TOOLS.grubMkimage, [
    '-O', 'x86_64-efi', '-d', '/usr/lib/grub/x86_64-efi', '-o', o.out, '-p', '(memdisk)/boot/grub', '-m', tar, ...GRUB_MODULES,
  ], run);
}
