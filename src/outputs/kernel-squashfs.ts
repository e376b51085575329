/** `kernel+squashfs` → `N-kernel`, `N-squashfs.img`, `N-cmdline`: the filesystem without `boot/*` as squashfs. */
import { TOOLS } from '../tools/catalog.ts';
import { kernelWithRootfsImage } from './format-kit.ts';
import { makeSquashfs } from './rootfs-images.ts';

export const kernelSquashfs = kernelWithRootfsImage('kernel+squashfs', TOOLS.mksquashfs, makeSquashfs);
