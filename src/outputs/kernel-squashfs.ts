/** `kernel+squashfs` → `N-kernel`, `N-squashfs.img`, `N-cmdline`: the filesystem without `boot/*` as squashfs. */
import { TOOLS } from '../tools/catalog.ts';
import { kernelWithRootfsImage } from './format-kit.ts';
import { makeSquashfs } from './rootfs-images.ts';

export const kernelSquashfs = kernelWithRootfsImage({
  name: 'kernel+squashfs',
  imageSuffix: '-squashfs.img',
  tool: TOOLS.mksquashfs,
  rootNeed: { fragment: 'squashfs', why: 'mounting the squashfs image as root' },
  rootAs: 'virtio-disk',
  rootDevice: '/dev/vda',
  writeImage: makeSquashfs,
});
