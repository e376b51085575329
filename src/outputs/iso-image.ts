/**
 * ISO 9660 images through xorriso's mkisofs emulation, byte-reproducible: fixed volume id, every date set to
 * SOURCE_DATE_EPOCH, Rock Ridge ownership and modes applied from the tar's metadata (not the builder's uid).
 */
import { writeFile } from 'node:fs/promises';
import { TOOLS } from '../tools/catalog.ts';
import { pathArg, runTool, type RunToolOptions } from '../tools/run-tool.ts';
import { diskMode, type StagedEntry } from './stage-rootfs.ts';

export interface IsoOptions {
  out: string;
  /** Directory whose content becomes the ISO root. */
  root: string;
  volid: string;
  sourceDateEpoch: number;
  /** Boot options for mkisofs (El Torito, hybrid MBR), placed before the root directory. */
  boot?: readonly string[];
  /** Tar metadata to apply (ownership, modes that differ on disk); entries not on disk are skipped. */
  entries?: readonly StagedEntry[];
  /** Scratch file for the xorriso command list. */
  commandsPath: string;
  run: RunToolOptions;
}

/**
 * One ISO path as a quoted word of xorriso's command file: absolute (so never read as an option) and, with
 * `-iso_rr_pattern off` first in the file, never read as a pattern (`usr/bin/[`, a setuid `usr/bin/*`).
 */
function q(path: string): string {
  return `'/${path.replaceAll("'", `'"'"'`)}'`;
}

/**
 * xorriso commands that make ownership and modes those of the tar; everything else is root-owned, directories
 * 0755 and files 0644 whatever the builder's umask left on the staged copies (so the ISO is byte-reproducible).
 * A hardlink is a node of its own in the ISO (xorriso does not join them), so it gets its target's owner and
 * mode itself (stageRootfs gives it the target's).
 */
export function metadataCommands(entries: readonly StagedEntry[]): string[] {
  const lines = [
    '-iso_rr_pattern off',
    '-chown_r 0 / --',
    '-chgrp_r 0 / --',
    '-find / -type d -exec chmod 0755 --',
    '-find / -type f -exec chmod 0644 --',
  ];
  for (const e of entries) {
    if (!e.onDisk) continue;
    if (e.uid !== 0) lines.push(`-chown ${e.uid} ${q(e.path)} --`);
    if (e.gid !== 0) lines.push(`-chgrp ${e.gid} ${q(e.path)} --`);
    const normalised = e.type === 'directory' ? 0o755 : e.type === 'file' || e.type === 'link' ? 0o644 : diskMode(e);
    if (e.type !== 'symlink' && normalised !== e.mode) lines.push(`-chmod 0${e.mode.toString(8)} ${q(e.path)} --`);
  }
  return lines;
}

/**
 * Writes the ISO at `out`. Disk paths (`out`, `root`, the command file) are arguments of the mkisofs
 * emulation, which takes them literally; the tar's paths only ever appear in the command file, quoted.
 */
export async function makeIso(o: IsoOptions): Promise<void> {
  await writeFile(o.commandsPath, `${metadataCommands(o.entries ?? []).join('\n')}\n`);
  await runTool(
    TOOLS.xorriso,
    [
      '-report_about',
      'SORRY',
      '-as',
      'mkisofs',
      '-quiet',
      '-o',
      pathArg(o.out),
      '-V',
      o.volid,
      '-l',
      '-J',
      '-joliet-long',
      '-R',
      '--set_all_file_dates',
      `=${o.sourceDateEpoch}`,
      ...(o.boot ?? []),
      pathArg(o.root),
      '--',
      '-options_from_file',
      pathArg(o.commandsPath),
    ],
    o.run,
  );
}

export const ISOLINUX_BOOT = [
  '-isohybrid-mbr',
  TOOLS.isohdpfx.command,
  '-c',
  'isolinux/boot.cat',
  '-b',
  'isolinux/isolinux.bin',
  '-no-emul-boot',
  '-boot-load-size',
  '4',
  '-boot-info-table',
] as const;

/** El Torito EFI boot from the FAT image at `fatPath` (relative to the ISO root). */
export function efiBoot(fatPath: string): string[] {
  return ['-e', fatPath, '-no-emul-boot'];
}

export function isolinuxConfig(o: { kernel: string; initrd?: string; cmdline: string }): string {
  const initrd = o.initrd === undefined ? '' : `  INITRD ${o.initrd}\n`;
  return `DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL ${o.kernel}\n${initrd}  APPEND ${o.cmdline}\n`;
}

/** LinuxKit's GRUB menu (`menuentry 'LinuxKit ISO Image'`), finding its files by `searchFile`. */
export function grubConfig(o: { kernel: string; initrd?: string; cmdline: string }): string {
  const initrd = o.initrd === undefined ? '' : `  initrd ${o.initrd}\n`;
  return [
    'set timeout=0',
    'set gfxpayload=text',
    `search --no-floppy --file --set=root ${o.kernel}`,
    `menuentry 'LinuxKit ISO Image' {\n  linux ${o.kernel} ${o.cmdline} text\n${initrd}}`,
    '',
  ].join('\n');
}
