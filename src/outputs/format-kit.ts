/**
 * Small helpers every format file shares: where its outputs go, publishing the kernel and cmdline files, the
 * scratch subdirectories, and the run options for tools (signal + SOURCE_DATE_EPOCH from the context).
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { RunToolOptions } from '../tools/run-tool.ts';
import { writeAtomically } from '../build/atomic.ts';
import type { Need } from '../kernel-check/check.ts';
import type { FormatContext, OutputFormat, ToolRequirement } from './format.ts';

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

/** Publishes the command line at `dest`, exactly as in the spec. */
export function publishCmdline(ctx: FormatContext, dest: string): Promise<void> {
  return writeAtomically(dest, (tmp) => writeFile(tmp, ctx.inputs.cmdline));
}

/** LinuxKit's ISO rule: append `root=<dev>` unless the cmdline already names a root. */
export function withRoot(cmdline: string, dev: string): string {
  if (/(^|\s)root=/.test(cmdline)) return cmdline;
  return cmdline === '' ? `root=${dev}` : `${cmdline} root=${dev}`;
}

/**
 * LinuxKit's `kernel+<image>` formats (`kernel+squashfs`, `kernel+erofs`, `kernel+iso`): the kernel, its
 * command line, and the filesystem without `boot/*` written as one image by `writeImage`.
 */
export function kernelWithRootfsImage(spec: {
  name: 'kernel+squashfs' | 'kernel+erofs' | 'kernel+iso';
  /** The image's file name after the build name, e.g. `-squashfs.img`. */
  imageSuffix: string;
  tool: ToolRequirement;
  /** What the kernel needs built in to mount the image as root. */
  rootNeed: Need;
  writeImage: (ctx: FormatContext, tmp: string) => Promise<void>;
}): OutputFormat {
  const files = (n: string) => [`${n}-kernel`, `${n}${spec.imageSuffix}`, `${n}-cmdline`];
  return {
    name: spec.name,
    outputs: files,
    tools: [spec.tool],
    needs: ['tar-without-boot'],
    kernel: [spec.rootNeed],
    streamable: false,
    write: async (ctx) => {
      const [kernel, image, cmdline] = outputPaths(ctx, files);
      await writeAtomically(image!, (tmp) => spec.writeImage(ctx, tmp));
      await publishKernel(ctx, kernel!);
      await publishCmdline(ctx, cmdline!);
    },
  };
}
