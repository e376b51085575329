/**
 * `--disk file=PATH,size=SIZE,format=FMT` (LinuxKit's flag): parsing is pure; missing disk files with a size
 * are created with `qemu-img create` before the boot, as `linuxkit run qemu` does.
 */
import { existsSync } from 'node:fs';
import { TOOLS } from '../tools/catalog.ts';
import { pathArg, runTool, ToolFailedError } from '../tools/run-tool.ts';
import { MobyError, usageError } from '../util/errors.ts';
import type { ExtraDisk } from './qemu-argv.ts';

export interface DiskFlag {
  file: string;
  size?: string;
  format: string;
}

/** Parses one `--disk` value; `index` names the default file `<prefix>-disk<index>.img`. */
export function parseDiskFlag(value: string, defaultFile: string): DiskFlag {
  const fields = new Map<string, string>();
  for (const part of value.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (fields.size === 0) {
        fields.set('file', part);
        continue;
      }
      throw usageError(
        `Invalid --disk "${value}": "${part}" is not key=value`,
        'write --disk file=PATH,size=1G,format=raw',
      );
    }
    const key = part.slice(0, eq);
    if (!['file', 'size', 'format'].includes(key)) {
      throw usageError(`Invalid --disk "${value}": unknown key "${key}"`, 'the keys are file, size and format');
    }
    fields.set(key, part.slice(eq + 1));
  }
  const size = fields.get('size');
  return {
    file: fields.get('file') ?? defaultFile,
    format: fields.get('format') ?? 'raw',
    ...(size === undefined ? {} : { size }),
  };
}

/** Creates the disks that do not exist yet (they need a size) and returns them as qemu extra disks. */
export async function prepareDisks(flags: readonly DiskFlag[]): Promise<ExtraDisk[]> {
  const disks: ExtraDisk[] = [];
  for (const d of flags) {
    if (!existsSync(d.file)) {
      if (d.size === undefined)
        throw usageError(`Cannot use disk "${d.file}": it does not exist and --disk gives no size=`);
      await createDisk(d.file, d.format, d.size);
    }
    disks.push({ file: d.file, format: d.format });
  }
  return disks;
}

async function createDisk(file: string, format: string, size: string): Promise<void> {
  try {
    await runTool(TOOLS.qemuImg, ['create', '-q', '-f', format, pathArg(file), size]);
  } catch (err) {
    if (!(err instanceof ToolFailedError)) throw err;
    const detail =
      err.stderrTail.trim() !== '' ? err.stderrTail.trim() : err.cause instanceof Error ? String(err.cause) : '';
    throw new MobyError(`Cannot create disk "${file}": qemu-img failed: ${detail}`, {
      code: 'TOOL_FAILED',
      hint: 'apt-get install qemu-utils',
      cause: err,
    });
  }
}
