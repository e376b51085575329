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
import type { KeptBlob } from '../store/sections.ts';
import type { KernelSpec } from '../spec/types.ts';
import type { EntryStream, TarEntry } from '../tar/entry.ts';
import { MobyError } from '../util/errors.ts';
import type { Reporter } from '../util/reporter.ts';
import type { RootfsDeps } from './deps.ts';
import { cleanName } from './safe-name.ts';
import { cachedToc, linkTocOf, noteLinks, plannedFlatten, type LinkToc, type TocStore } from './toc.ts';
import { dirEntry, discardBody, fileEntry, readBody, withProvenance, type Provenance } from './synth.ts';
import { configFromEntries } from '../kernel-check/tar-config.ts';

export interface KernelParts {
  kernel: Buffer;
  cmdline: string;
  ucode?: Buffer;
  /** The kernel's config when its modules tar ships one (`boot/config-*`), for the kernel check. */
  config?: string;
}

/**
 * The kernel's parts as a build receives them (`onKernel`): read from the image, or replayed from the section
 * cache, whose kernel binary and microcode may then be blobs it kept, unread (store/sections.ts `KeptBlob`).
 */
export interface KernelOutputs extends Omit<KernelParts, 'kernel' | 'ucode'> {
  kernel: Buffer | KeptBlob;
  ucode?: Buffer | KeptBlob;
}

/** The blobs of the kernel section a build only copies into files, never needs in memory on replay. */
export const KERNEL_COPIED_BLOBS: ReadonlySet<string> = new Set(['kernel', 'ucode']);

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
  if (tar !== undefined && found.tarPath === undefined)
    throw kernelError(ref, `no modules tarball "${tar}" in the image`);
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
  /** Symlinks the init images make (path → target as written): the modules are placed through them. */
  through?: ReadonlyMap<string, string>;
}

/**
 * Symlinks (path → target) of the init images' merged filesystem, as the last image providing each path has
 * it, from each image's table of contents (`tocs`: read from its layers, headers only, the first time).
 * A Debian-style image gives `lib → usr/lib`, `bin → usr/bin`, ….
 * Fails (IMAGE_CONFIG) when one init image has a directory where another has a symlink: one of them would be
 * lost without a word (LinuxKit #3153 between two init images, docs/compat.md).
 */
export async function initSymlinks(
  sources: readonly ImageSource[],
  deps: RootfsDeps,
  tocs: TocStore | undefined,
  reporter: Reporter,
): Promise<Map<string, string>> {
  const all = await Promise.all(
    sources.map((s, i) =>
      cachedToc(
        tocs,
        linkTocOf(s.manifestDigest),
        () => linkToc(plannedFlatten(deps, s, tocs, reporter)),
        (from, toc) =>
          reporter.emit({
            type: 'debug',
            message: `init[${i}] symlinks: ${from === 'cache' ? 'from the cache' : `planned from the layers' tables of contents, ${toc.length} paths`} (${s.ref.expanded})`,
          }),
      ),
    ),
  );
  const links = new Map<string, string>();
  const first = new Map<string, { kind: 'directory' | 'symlink'; image: string; target: string }>();
  sources.forEach((s, i) => {
    const image = s.ref.expanded;
    for (const [name, k, target = ''] of all[i] ?? []) {
      if (k !== 'o') {
        const kind = k === 'd' ? 'directory' : 'symlink';
        const seen = first.get(name);
        if (seen === undefined) first.set(name, { kind, image, target });
        else if (seen.kind !== kind && seen.image !== image)
          throw dirVersusSymlink(
            name,
            seen.kind === 'directory' ? [seen.image, image, target] : [image, seen.image, seen.target],
          );
      }
      if (k === 'l') links.set(name, target);
      else links.delete(name);
    }
  });
  return links;
}

async function linkToc(flattened: EntryStream): Promise<LinkToc> {
  const out: LinkToc = [];
  for await (const e of noteLinks(flattened, out, () => Promise.resolve())) await discardBody(e);
  return out;
}

function dirVersusSymlink(path: string, [dirImage, linkImage, target]: [string, string, string]): MobyError {
  return new MobyError(
    `Init images collide on "/${path}": "${dirImage}" has a directory there, "${linkImage}" a symlink to "${target}"; one of them would be lost (the directory is kept, so the programs of "${linkImage}" that need "/${path}" would not run)`,
    {
      code: 'IMAGE_CONFIG',
      hint: `make the init images agree on /${path} (both a directory, or both the same symlink), or drop one of them from init:`,
    },
  );
}

/** Where a symlink's target points, as a clean path from the root (`..` stops at the root, as in the guest). */
function linkTarget(link: string, target: string): string {
  if (target.startsWith('/')) return cleanName(target);
  const slash = link.lastIndexOf('/');
  return cleanName(`${slash < 0 ? '' : link.slice(0, slash)}/${target}`);
}

/**
 * `name` with every symlink of `links` among its ancestors followed (and the name itself when `self`), so
 * that a modules entry `lib/modules/…` lands where the init image's `/lib → usr/lib` leads (LinuxKit
 * writes a real `lib` directory there and loses the image's symlink: docs/compat.md).
 */
export function throughSymlinks(name: string, links: ReadonlyMap<string, string>, self: boolean): string {
  let path = name;
  for (let hops = 0; hops < 40 && links.size > 0; hops++) {
    const parts = path.split('/');
    const end = self ? parts.length : parts.length - 1;
    let i = 1;
    while (i <= end && !links.has(parts.slice(0, i).join('/'))) i++;
    if (i > end) return path;
    const link = parts.slice(0, i).join('/');
    path = cleanName([linkTarget(link, links.get(link) ?? ''), ...parts.slice(i)].join('/'));
  }
  return path;
}

/** The kernel section entries, in order. */
export async function* kernelSection(o: KernelSectionOptions): EntryStream {
  const ref = o.source.ref.expanded;
  const p: Provenance = { source: ref, location: 'kernel' };
  const found = await scan(o.deps.flatten(o.source), o.spec, ref, o.workDir);
  const raw = found.kernelData ?? Buffer.alloc(0);
  const kernel = o.decompress ? await o.deps.decompressKernel(raw) : raw;
  const cmdline = o.spec.cmdline ?? '';
  const config =
    found.tarPath === undefined ? undefined : await configFromEntries(o.deps.readTar(createReadStream(found.tarPath)));
  o.onParts({
    kernel,
    cmdline,
    ...(found.ucodeData === undefined ? {} : { ucode: found.ucodeData }),
    ...(config === undefined ? {} : { config }),
  });
  yield dirEntry('boot', { ...p, mtime: o.mtime });
  const k = fileEntry('boot/kernel', kernel, {
    ...p,
    mtime: o.mtime,
    mode: found.kernel?.mode ?? 0o644,
    uid: found.kernel?.uid,
    gid: found.kernel?.gid,
  });
  yield k;
  yield fileEntry('boot/cmdline', cmdline, { ...p, mtime: o.mtime });
  if (found.ucodeData !== undefined) {
    yield fileEntry('boot/ucode.cpio', found.ucodeData, { ...p, mtime: o.mtime, mode: found.ucode?.mode ?? 0o644 });
  }
  if (found.tarPath !== undefined)
    yield* modules(o.deps.readTar(createReadStream(found.tarPath)), p, o.through ?? new Map<string, string>());
}

/** The modules tar at `/`: names cleaned (so they cannot escape) and placed through `through`, headers kept, provenance added. */
async function* modules(entries: EntryStream, p: Provenance, through: ReadonlyMap<string, string>): EntryStream {
  for await (const entry of entries) {
    const name = throughSymlinks(cleanName(entry.header.name), through, entry.header.type === 'directory');
    if (name === '') {
      await discardBody(entry);
      continue;
    }
    const header = { ...entry.header, name };
    if (header.type === 'link' && header.linkname !== undefined)
      header.linkname = throughSymlinks(cleanName(header.linkname), through, false);
    yield { header: withProvenance(header, p), body: entry.body };
  }
}
