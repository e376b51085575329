/**
 * One output format = one record that owns everything about it: its LinuxKit name, the files it writes, the
 * host tools it needs, what it consumes from the build, what it needs from the kernel, how `mobyts run qemu`
 * boots its files, and how it writes. The table in `outputs/index.ts` lists them all; no other code keeps a
 * table of formats or switches over their names (docs/formats.md).
 */
import type { KernelNeed, Need } from '../kernel-check/check.ts';
import type { KernelConfig } from '../kernel-check/config-text.ts';
import type { ModuleIndex } from '../kernel-check/modules.ts';
import type { ToolRequirement } from '../tools/requirement.ts';
import type { Reporter } from '../util/reporter.ts';
import type { FormatName } from '../spec/format-names.ts';

/** How a machine boots: kernel+initrd directly, an ISO as CD, a disk image, or an EFI binary (UKI). */
export type BootKind = 'kernel' | 'cdrom' | 'disk' | 'efi-kernel';
export type Firmware = 'bios' | 'efi';
/** What one output file is to the machine that boots it (`root`: the root image, attached as `rootAs`). */
export type BootRole = 'kernel' | 'initrd' | 'cmdline' | 'image' | 'root';
/** How a root image is attached: a virtio disk (`/dev/vda`) or a CD on the IDE controller (`/dev/sr0`). */
export type RootAttach = 'virtio-disk' | 'cdrom';

/** How `mobyts run qemu` boots a format's output files. */
export interface BootRecipe {
  kind: BootKind;
  firmware: Firmware;
  /** disk: qemu's block format of the image. */
  imageFormat?: 'raw' | 'qcow2' | 'vpc' | 'vmdk';
  /** The role of each file of `outputs()`, in that order. */
  roles: readonly BootRole[];
  /** kernel with a `root` file: how the root image is attached. */
  rootAs?: RootAttach;
}

/**
 * A format whose root image the kernel may reach only through modules: when `need`'s options are modules the
 * kernel ships (kernel-check `rootVerdict`), the format also writes `file(name)`, the build's loader initrd
 * (outputs/loader-initrd.ts), which mounts `rootDevice` (or the `root=` of the command line).
 */
export interface LoaderRecipe {
  need: Need & { loader: true };
  rootDevice: string;
  file(name: string): string;
}

/** The build's loader initrd: modules to load (paths under `lib/modules/<version>/`, in order), root devices to probe. */
export interface BuildLoader {
  version: string;
  modules: string[];
  devices: string[];
}

/** What the build knows of the kernel when it writes formats: its parsed config and its modules, when found. */
export interface KernelFacts {
  config?: KernelConfig;
  modules?: ModuleIndex;
  /** The `--arch` the kernel is for (default amd64): selects the arch's part of a loader's fragment. */
  arch?: string;
}

/** A host program a format needs (declared in tools/, below the formats; re-exported for the format files). */
export type { ToolRequirement };

/** The host tools (and data files) `formats` need when building for `arch`. */
export function toolsFor(formats: readonly OutputFormat[], arch: string): ToolRequirement[] {
  return formats.flatMap((f) => f.archTools?.[arch] ?? f.tools);
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
  /**
   * Writes the files `before` (the microcode cpio) then the initrd to `dest` atomically (mode 0644). An
   * existing `dest` that already holds those bytes is kept (its times set), and one whose first members match
   * is reused up to them (docs/formats.md, "Writing the initrd").
   */
  writeInitrd(dest: string, before: readonly string[]): Promise<void>;
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
  /** The kernel's config and modules, for formats that adapt to them (`loader`). */
  kernel: KernelFacts;
  /** The build's loader initrd, when a chosen format needs one for this kernel (`buildLoader`). */
  loader?: BuildLoader;
  reporter: Reporter;
  signal: AbortSignal;
}

export interface OutputFormat {
  /** LinuxKit's format name: `kernel+initrd`, `iso-bios`, ... */
  readonly name: FormatName;
  /** LinuxKit's output paths relative to `base`'s directory, e.g. `${name}-kernel` (plus `loader.file` when written). */
  outputs(name: string): string[];
  readonly tools: readonly ToolRequirement[];
  /** Replaces `tools` when building for that arch (arm64's loaders need other tools than amd64's). */
  readonly archTools?: Readonly<Record<string, readonly ToolRequirement[]>>;
  /** What the format reads from the build; the build produces only what some chosen format needs. */
  readonly needs: ReadonlyArray<'initrd' | 'tar' | 'tar-without-boot'>;
  /** `tar` and `docker` may stream to `-o FILE|-` and must then be the only format. */
  readonly streamable: boolean;
  /** What the kernel's config must have for the result to boot (empty: the format does not boot). */
  readonly kernel: readonly KernelNeed[];
  /** How `mobyts run qemu` boots the outputs; undefined when it cannot (tar, docker, gcp, ...). */
  readonly boot?: BootRecipe;
  /** The loader initrd it writes too for kernels with the root's drivers as modules (kernel+squashfs, ...). */
  readonly loader?: LoaderRecipe;
  /** The `--arch` values it builds for (BIOS formats: amd64 only); undefined: any. */
  readonly archs?: readonly string[];
  /**
   * Writes every output file. Each file is written under a temporary name in its target directory and renamed
   * when complete (use `writeAtomically`), so a failure or Ctrl-C leaves no partial output.
   */
  write(ctx: FormatContext): Promise<void>;
}
