/**
 * One output format = one record that owns everything about it: its LinuxKit name, the files it writes, the
 * host tools it needs, what it consumes from the build, what it needs from the kernel, how `mobyts run qemu`
 * boots its files, and how it writes. The table in `outputs/index.ts` lists them all; no other code keeps a
 * table of formats or switches over their names (docs/formats.md).
 */
import type { KernelNeed } from '../kernel-check/check.ts';
import type { Reporter } from '../util/reporter.ts';
import type { FormatName } from './format-names.ts';

/** How a machine boots: kernel+initrd directly, an ISO as CD, a disk image, or an EFI binary (UKI). */
export type BootKind = 'kernel' | 'cdrom' | 'disk' | 'efi-kernel';
export type Firmware = 'bios' | 'efi';
/** What one output file is to the machine that boots it. */
export type BootRole = 'kernel' | 'initrd' | 'cmdline' | 'image';

/** How `mobyts run qemu` boots a format's output files. */
export interface BootRecipe {
  kind: BootKind;
  firmware: Firmware;
  /** disk: qemu's block format of the image. */
  imageFormat?: 'raw' | 'qcow2' | 'vpc' | 'vmdk';
  /** The role of each file of `outputs()`, in that order. */
  roles: readonly BootRole[];
}

/** A host program a format needs, with why and how to install it (reported all at once by the preflight). */
export interface ToolRequirement {
  /** Executable name looked up on PATH, or an absolute path of a data file (e.g. isolinux.bin). */
  command: string;
  why: string;
  install: { debian: string; fedora?: string; macos?: string };
}

/** What the build hands a format. Paths are complete, verified files owned by the build (read-only to formats). */
export interface FormatInputs {
  /** The kernel binary as it appears at boot/kernel (possibly decompressed). */
  kernelPath: string;
  /** The kernel command line exactly as in the spec (no trailing newline). */
  cmdline: string;
  /** The kernel's config text when the kernel image ships one (`boot/config-*` in its modules tar). */
  kernelConfig?: string;
  /** Microcode cpio, when the kernel section names one. */
  ucodePath?: string;
  /** The initrd (newc cpio, compressed as the build chose), for formats that declare `needs: 'initrd'`. */
  initrdPath(): Promise<string>;
  /** The whole filesystem tar (the `tar` output), for formats that declare `needs: 'tar'`. */
  rootfsTarPath(): Promise<string>;
  /** The filesystem tar without `boot/*`, for kernel+squashfs/erofs/iso. */
  rootfsTarWithoutBootPath(): Promise<string>;
}

export interface FormatContext {
  inputs: FormatInputs;
  /** Output path prefix: `<dir>/<name>`; each format appends its suffixes. */
  base: string;
  /** Disk size in bytes for the disk formats (`--size`). */
  sizeBytes: number;
  /** Seconds since the epoch for every timestamp written (SOURCE_DATE_EPOCH or LinuxKit's 1492533000). */
  sourceDateEpoch: number;
  /** A private scratch directory for this format, removed by the build afterwards. */
  workDir: string;
  arch: string;
  reporter: Reporter;
  signal: AbortSignal;
}

export interface OutputFormat {
  /** LinuxKit's format name: `kernel+initrd`, `iso-bios`, ... */
  readonly name: FormatName;
  /** Output paths relative to `base`'s directory, e.g. `${name}-kernel`; used for --dry-run, run and cleanup. */
  outputs(name: string): string[];
  readonly tools: readonly ToolRequirement[];
  /** What the format reads from the build; the build produces only what some chosen format needs. */
  readonly needs: ReadonlyArray<'initrd' | 'tar' | 'tar-without-boot'>;
  /** `tar` and `docker` may stream to `-o FILE|-` and must then be the only format. */
  readonly streamable: boolean;
  /** What the kernel's config must have for the result to boot (empty: the format does not boot). */
  readonly kernel: readonly KernelNeed[];
  /** How `mobyts run qemu` boots the outputs; undefined when it cannot (tar, docker, gcp, ...). */
  readonly boot?: BootRecipe;
  /** True when the result boots on amd64 only (BIOS formats). */
  readonly archs?: readonly string[];
  /**
   * Writes every output file. Each file is written under a temporary name in its target directory and renamed
   * when complete (use `writeAtomically`), so a failure or Ctrl-C leaves no partial output.
   */
  write(ctx: FormatContext): Promise<void>;
}
