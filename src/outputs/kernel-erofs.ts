/** `kernel+erofs` → `N-kernel`, `N-erofs.img`, `N-cmdline`: the filesystem without `boot/*` as erofs. */
import { TOOLS } from '../tools/catalog.ts';
import { kernelWithRootfsImage } from './format-kit.ts';
import { makeErofs } from './rootfs-images.ts';

export const kernelErofs = kernelWithRootfsImage({
  name: 'kernel+erofs',
  imageSuffix: '-erofs.img',
  tool: TOOLS.mkfsErofs,
  rootNeed: { fragment: 'erofs', why: 'mounting the erofs image as root' },
  rootAs: 'virtio-disk',
  rootDevice: '/dev/vda',
  writeImage: makeErofs,
});
