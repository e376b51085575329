/**
 * Fallback assembly for the boot tests while `mobyts build` is not usable end to end: lays out the root
 * filesystem exactly as docs/linuxkit-behaviour.md#bundles (kernel.tar, init images, containers/<section>/<dir> bundles
 * with the runtime module's config.json/runtime.json) from images in the store, and packs it as a newc cpio.
 * Layers are unpacked with GNU tar; this proves the packages, /init and runc, not the build's tar stream.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseReference } from '../../src/oci/reference.ts';
import { bundleFiles, buildIdMap } from '../../src/runtime/index.ts';
import { parseMobyLabel } from '../../src/spec/label.ts';
import type { ImageEntry, MobySpec } from '../../src/spec/types.ts';
import { platformFor, type ImageStore } from '../../src/store/index.ts';
import type { StoreImageSource } from '../../src/image/store-source.ts';
import { MOBY_CONFIG_LABEL } from '../../src/oci/types.ts';
import { makeInitrd } from '../helpers/qemu.ts';

async function image(store: ImageStore, ref: string): Promise<StoreImageSource> {
  const img = await store.getCachedImage(parseReference(ref), platformFor('amd64'));
  if (img === undefined) throw new Error(`${ref} is not in the store`);
  return img;
}

function unpack(store: ImageStore, img: StoreImageSource, dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const l of img.manifest.layers)
    execFileSync('tar', ['-xzf', store.layout.blobPath(l.digest), '-C', dir, '--numeric-owner']);
}

export interface Assembled {
  kernel: string;
  initrd: string;
  cmdline: string;
}

/** Builds `<out>/kernel` and `<out>/initrd.img` for `spec` (image fields already resolved to store refs). */
export async function assemble(spec: MobySpec, store: ImageStore, out: string): Promise<Assembled> {
  const root = join(out, 'root');
  const kdir = join(out, 'kernel-image');
  if (spec.kernel === undefined) throw new Error('spec has no kernel');
  unpack(store, await image(store, spec.kernel.image), kdir);
  copyFileSync(join(kdir, 'kernel'), join(out, 'kernel'));
  mkdirSync(root, { recursive: true });
  execFileSync('tar', ['-xf', join(kdir, 'kernel.tar'), '-C', root]);
  for (const ref of spec.init ?? []) unpack(store, await image(store, ref), root);
  const idMap = buildIdMap(spec);
  for (const section of ['onboot', 'onshutdown', 'services'] as const) {
    for (const [index, entry] of (spec[section] ?? []).entries())
      await bundle(store, root, { section, index, entry, idMap });
  }
  makeInitrd(root, join(out, 'initrd.img'));
  return { kernel: join(out, 'kernel'), initrd: join(out, 'initrd.img'), cmdline: spec.kernel.cmdline ?? '' };
}

async function bundle(
  store: ImageStore,
  root: string,
  b: {
    section: 'onboot' | 'onshutdown' | 'services';
    index: number;
    entry: ImageEntry;
    idMap: ReturnType<typeof buildIdMap>;
  },
): Promise<void> {
  const img = await image(store, b.entry.image);
  const labelText = img.config.config?.Labels?.[MOBY_CONFIG_LABEL];
  const label = labelText === undefined ? undefined : parseMobyLabel(labelText, b.entry.image);
  const files = bundleFiles(
    b.entry,
    { config: img.config.config ?? {}, ...(label === undefined ? {} : { label }) },
    { section: b.section, index: b.index, idMap: b.idMap },
  );
  const dir = join(root, files.path);
  mkdirSync(join(dir, 'rootfs'), { recursive: true });
  if (!files.readonly) mkdirSync(join(dir, 'tmp'), { recursive: true });
  if (files.extractTo !== undefined) unpack(store, img, join(root, files.extractTo));
  writeFileSync(join(dir, 'config.json'), files.configJson);
  writeFileSync(join(dir, 'runtime.json'), files.runtimeJson);
}
