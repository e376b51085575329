/**
 * Small helpers every format file shares: where its outputs go, publishing the kernel and cmdline files, the
 * scratch subdirectories, and the run options for tools (signal + SOURCE_DATE_EPOCH from the context).
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { RunToolOptions } from '../tools/run-tool.ts';
import { writeAtomically } from '../util/atomic.ts';
import { rootVerdict, type Need } from '../kernel-check/check.ts';
import { loadOrder } from '../kernel-check/modules.ts';
import type { BuildLoader, FormatContext, KernelFacts, OutputFormat, RootAttach, ToolRequirement } from './format.ts';
import { writeLoaderInitrd } from './loader-initrd.ts';

/** The absolute output paths for this build of a format whose files are `files(name)`, in that order. */
export function outputPaths(ctx: FormatContext, files: (name: string) => string[]): string[] {
  return files(basename(ctx.base)).map((f) => join(dirname(ctx.base), f));
}

/** A fresh scratch directory `name` inside the format's work dir. */
export async function scratch(ctx: FormatContext, name: string): Promise<string> {
  const dir = join(ctx.workDir, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

export function toolRun(ctx: FormatContext, extra: RunToolOptions = {}): RunToolOptions {
  return { sourceDateEpoch: ctx.sourceDateEpoch, signal: ctx.signal, ...extra };
}

/** Publishes a copy of the kernel at `dest`. */
export function publishKernel(ctx: FormatContext, dest: string): Promise<void> {
  return writeAtomically(dest, (tmp) => copyFile(ctx.inputs.kernelPath, tmp));
}

/** Publishes `cmdline` at `dest` (default: the command line exactly as in the spec). */
export function publishCmdline(ctx: FormatContext, dest: string, cmdline = ctx.inputs.cmdline): Promise<void> {
  return writeAtomically(dest, (tmp) => writeFile(tmp, cmdline));
}

/** LinuxKit's ISO rule: append `root=<dev>` unless the cmdline already names a root. */
export function withRoot(cmdline: string, dev: string): string {
  if (/(^|\s)root=/.test(cmdline)) return cmdline;
  return cmdline === '' ? `root=${dev}` : `${cmdline} root=${dev}`;
}

/** True when `format` writes a loader initrd for this kernel (its root's drivers are modules it ships). */
export function usesLoader(format: OutputFormat, kernel: KernelFacts): boolean {
  if (format.loader === undefined || kernel.config === undefined) return false;
  return rootVerdict(kernel.config, format.loader.need.fragment, kernel.modules, kernel.arch).kind === 'loader';
}

/** The files `format` writes for build name `name` and this kernel: its outputs, plus its loader when needed. */
export function writtenOutputs(format: OutputFormat, name: string, kernel: KernelFacts): string[] {
  const loader = format.loader;
  return loader !== undefined && usesLoader(format, kernel)
    ? [...format.outputs(name), loader.file(name)]
    : format.outputs(name);
}

/**
 * The one loader initrd of a build: every chosen format that needs one shares `N-initrd.img`, so it holds the
 * modules of all of them (in an order independent of the formats' order) and probes each of their root
 * devices. Undefined when no chosen format needs a loader for this kernel.
 */
export function buildLoader(formats: readonly OutputFormat[], kernel: KernelFacts): BuildLoader | undefined {
  const users = formats.filter((f) => usesLoader(f, kernel));
  if (users.length === 0 || kernel.config === undefined || kernel.modules === undefined) return undefined;
  const config = kernel.config;
  const names = users.flatMap((f) => {
    const v = rootVerdict(config, f.loader!.need.fragment, kernel.modules, kernel.arch);
    return v.kind === 'loader' ? v.modules : [];
  });
  const order = loadOrder(kernel.modules, [...new Set(names)].sort());
  const devices = [...new Set(users.map((f) => f.loader!.rootDevice))].sort();
  return { version: kernel.modules.version, modules: order.paths, devices };
}

export interface RootImageFormat {
  name: 'kernel+squashfs' | 'kernel+erofs' | 'kernel+iso';
  /** The image's file name after the build name, e.g. `-squashfs.img`. */
  imageSuffix: string;
  tool: ToolRequirement;
  /** The kernel-configs fragment (its options annotated with their modules) and what it is for. */
  rootNeed: Omit<Need, 'loader'>;
  /** How the machine attaches the image and the device it then appears as. */
  rootAs: RootAttach;
  rootDevice: string;
  writeImage: (ctx: FormatContext, tmp: string) => Promise<void>;
}

/**
 * LinuxKit's `kernel+<image>` formats (`kernel+squashfs`, `kernel+erofs`, `kernel+iso`): the kernel, its
 * command line, and the filesystem without `boot/*` written as one image by `writeImage`. When the kernel has
 * the root's drivers only as modules, also `N-initrd.img`, the build's loader initrd (docs/formats.md); with
 * them built in the outputs are exactly LinuxKit's. The command line file is the spec's either way: `root=`
 * is what the machine adds (`mobyts run qemu` does), and the loader probes the format's device without it.
 */
export function kernelWithRootfsImage(spec: RootImageFormat): OutputFormat {
  const files = (n: string) => [`${n}-kernel`, `${n}${spec.imageSuffix}`, `${n}-cmdline`];
  const need = { ...spec.rootNeed, loader: true as const };
  const format: OutputFormat = {
    name: spec.name,
    outputs: files,
    tools: [spec.tool],
    needs: ['tar-without-boot'],
    kernel: [need],
    boot: { kind: 'kernel', firmware: 'bios', roles: ['kernel', 'root', 'cmdline'], rootAs: spec.rootAs },
    loader: { need, rootDevice: spec.rootDevice, file: (n) => `${n}-initrd.img` },
    streamable: false,
    write: async (ctx) => {
      const [kernel, image, cmdline] = outputPaths(ctx, files);
      await writeAtomically(image!, (tmp) => spec.writeImage(ctx, tmp));
      const loader = ctx.loader;
      if (loader !== undefined && usesLoader(format, ctx.kernel)) {
        const [initrd] = outputPaths(ctx, (n) => [`${n}-initrd.img`]);
        const rootfsTar = await ctx.inputs.rootfsTarWithoutBootPath();
        await writeAtomically(initrd!, (out) =>
          writeLoaderInitrd({
            rootfsTar,
            ...loader,
            arch: ctx.arch,
            mtime: ctx.sourceDateEpoch,
            out,
            workDir: ctx.workDir,
            signal: ctx.signal,
            reporter: ctx.reporter,
          }),
        );
      }
      await publishKernel(ctx, kernel!);
      await publishCmdline(ctx, cmdline!);
    },
  };
  return format;
}
