/**
 * The kernel section (docs/linuxkit-behaviour.md#kernel-section): `boot`, `boot/kernel`, `boot/cmdline`,
 * `boot/ucode.cpio`, then the entries of the kernel's modules tar at `/`. Everything else in the kernel image is
 * discarded. The kernel binary and the microcode are small and buffered; the modules tar is spooled to `workDir` so it
 * can follow the boot entries whatever its position in the image.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ImageSource } from '../image/source.ts';
import type { KernelSpec } from '../spec/types.ts';
import type { EntryStream, TarEntry } from '../tar/entry.ts';
import { MobyError } from '../util/errors.ts';
import type { RootfsDeps } from './deps.ts';
import { cleanName } from './safe-name.ts';
import { dirEntry, discardBody, fileEntry, readBody, withProvenance, type Provenance } from './synth.ts';
import { configFromEntries } from '../kernel-check/tar-config.ts';

export interface KernelParts {
  kernel: Buffer;
  cmdline: string;
  ucode?: Buffer;
  /** The kernel's config when its modules tar ships one (`boot/config-*`), for the kernel check. */
  config?: string;
}

interface Found {
  kernel?: TarEntry['header'];
  kernelData?: Buffer;
  ucode?: TarEntry['header'];
  ucodeData?: Buffer;
  tarPath?: string;
}

/** `tar: ""` or `none` means no modules tarball. */
function tarName(spec: KernelSpec): string | undefined {
  const t = spec.tar ?? 'kernel.tar';
  return t === '' || t === 'none' ? undefined : cleanName(t);
}

function kernelError(ref: string, detail: string): MobyError {
  return new MobyError(`Cannot extract the kernel from "${ref}": ${detail}`, {
    code: 'IMAGE_CONFIG',
    hint: 'check kernel.binary / kernel.tar / kernel.ucode in the spec against the files in the kernel image',
  });
}

async function scan(entries: EntryStream, spec: KernelSpec, ref: string, workDir: string): Promise<Found> {
  const binary = cleanName(spec.binary ?? 'kernel');
  const tar = tarName(spec);
  const ucode = spec.ucode === undefined || spec.ucode === '' ? undefined : cleanName(spec.ucode);
  const found: Found = {};
  for await (const entry of entries) {
    const name = cleanName(entry.header.name);
    if (name === binary && entry.header.type === 'file') {
      if (found.kernel !== undefined) throw kernelError(ref, `more than one file named "${binary}"`);
      found.kernel = entry.header;
      found.kernelData = await readBody(entry);
    } else if (name === ucode && entry.header.type === 'file') {
      found.ucode = entry.header;
      found.ucodeData = await readBody(entry);
    } else if (name === tar && entry.header.type === 'file' && entry.body !== undefined) {
      found.tarPath = join(workDir, 'kernel-modules.tar');
      await pipeline(entry.body, createWriteStream(found.tarPath));
    } else {
      await discardBody(entry);
    }
  }
  if (found.kernelData === undefined) throw kernelError(ref, `no file "${binary}" in the image`);
  if (tar !== undefined && found.tarPath === undefined) throw kernelError(ref, `no modules tarball "${tar}" in the image`);
  return found;
}

export interface KernelSectionOptions {
  spec: KernelSpec;
  source: ImageSource;
  deps: RootfsDeps;
  decompress: boolean;
  mtime: number;
  workDir: string;
  /** Receives the kernel, cmdline and microcode once known (before the first entry is yielded). */
  onParts(parts: KernelParts): void;
}

/** The kernel section entries, in order. */
export async function* kernelSection(o: KernelSectionOptions): EntryStream {
  const ref = o.source.ref.expanded;
  const p: Provenance = { source: ref, location: 'kernel' };
  const found = await scan(o.deps.flatten(o.source), o.spec, ref, o.workDir);
  const raw = found.kernelData ?? Buffer.alloc(0);
  const kernel = o.decompress ? await o.deps.decompressKernel(raw) : raw;
  const cmdline = o.spec.cmdline ?? '';
  const config = found.tarPath === undefined ? undefined : await configFromEntries(o.deps.readTar(createReadStream(found.tarPath)));
  o.onParts({ kernel, cmdline, ...(found.ucodeData === undefined ? {} : { ucode: found.ucodeData }), ...(config === undefined ? {} : { config }) });
  yield dirEntry('boot', { ...p, mtime: o.mtime });
  const k = fileEntry('boot/kernel', kernel, { ...p, mtime: o.mtime, mode: found.kernel?.mode ?? 0o644, uid: found.kernel?.uid, gid: found.kernel?.gid });
  yield k;
  yield fileEntry('boot/cmdline', cmdline, { ...p, mtime: o.mtime });
  if (found.ucodeData !== undefined) {
    yield fileEntry('boot/ucode.cpio', found.ucodeData, { ...p, mtime: o.mtime, mode: found.ucode?.mode ?? 0o644 });
  }
  if (found.tarPath !== undefined) yield* modules(o.deps.readTar(createReadStream(found.tarPath)), p);
}

/** The modules tar at `/`: names cleaned (so they cannot escape), headers kept, provenance added. */
async function* modules(entries: EntryStream, p: Provenance): EntryStream {
  for await (const entry of entries) {
    const name = cleanName(entry.header.name);
    if (name === '') {
      await discardBody(entry);
      continue;
    }
    const header = { ...entry.header, name };
    if (header.type === 'link' && header.linkname !== undefined) header.linkname = cleanName(header.linkname);
    yield { header: withProvenance(header, p), body: entry.body };
  }
}
