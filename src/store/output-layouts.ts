/**
 * What the last build wrote into each initrd output (docs/formats.md#writing-the-initrd): the file's identity
 * (util/file-identity.ts) just after it was written, and the size and digest of each member, then of the tail.
 * A rebuild into the same file whose identity is still the recorded one knows which members it holds without
 * reading it. Kept under `<cache>/.mobyts/outputs/`, one small file per output path, written once the file-time
 * clock has moved past the output's (util/file-identity.ts); damaged, missing or unwritable records only cost
 * that read.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeRecordAfterTick } from '../util/atomic.ts';
import { identityCtime } from '../util/file-identity.ts';

export interface OutputLayout {
  /** The file's identity when the layout was recorded. */
  identity: string;
  parts: Array<{ size: number; digest: string }>;
  /** `sha256:…` of the bytes after the last part. */
  tail: string;
}

export interface OutputLayouts {
  get(dest: string): Promise<OutputLayout | undefined>;
  put(dest: string, layout: OutputLayout): Promise<void>;
}

const isLayout = (v: unknown): v is OutputLayout => {
  const l = v as Partial<OutputLayout> | null;
  return (
    typeof l?.identity === 'string' &&
    typeof l.tail === 'string' &&
    Array.isArray(l.parts) &&
    l.parts.every((p) => typeof p?.size === 'number' && typeof p.digest === 'string')
  );
};

/** The layouts kept in the cache `cacheDir`. */
export function outputLayouts(cacheDir: string): OutputLayouts {
  const dir = join(cacheDir, '.mobyts', 'outputs');
  const fileOf = (dest: string): string =>
    join(dir, `${createHash('sha256').update(resolve(dest)).digest('hex')}.json`);
  return {
    get: async (dest) => {
      try {
        const v: unknown = JSON.parse(await readFile(fileOf(dest), 'utf8'));
        return isLayout(v) ? v : undefined;
      } catch {
        return undefined;
      }
    },
    put: (dest, layout) =>
      writeRecordAfterTick(fileOf(dest), JSON.stringify(layout), identityCtime(layout.identity)).catch(() => {}),
  };
}
