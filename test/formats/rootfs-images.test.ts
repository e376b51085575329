/**
 * kernel+squashfs, kernel+erofs, kernel+iso: Debian's kernel has these filesystems only as modules, so it cannot
 * mount them as root by itself (the build then writes a loader initrd, booted in build-formats.test.ts). Here the format's own
 * `N-kernel` and `N-cmdline` boot with a small initrd that loads the modules and mounts the image from a
 * read-only virtio disk: the real kernel reads what we wrote, with the owners and modes from the tar.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bootImage } from '../../src/run/qemu.ts';
import {
  MOUNT_MARKER,
  buildAsNobody,
  makeMountInitrd,
  prepareWorkspace,
  type ChildRun,
  type Workspace,
} from './fixtures.ts';

const IMAGES = {
  'kernel+squashfs': ['squashfs', 'hello-squashfs.img', '1000:100:640'],
  'kernel+erofs': ['erofs', 'hello-erofs.img', '0:0:640'],
  'kernel+iso': ['iso9660', 'hello.iso', '1000:100:640'],
} as const;

let ws: Workspace;
let built: ChildRun;
let initrd: string;

before(async () => {
  ws = await prepareWorkspace('mobyts-rootfs-images-');
  built = buildAsNobody(ws, 'images', Object.keys(IMAGES));
  initrd = makeMountInitrd(ws.dir);
});
after(() => rmSync(ws.dir, { recursive: true, force: true }));

for (const [format, [fstype, image, owner]] of Object.entries(IMAGES)) {
  void test(`${format}: the kernel mounts the ${fstype} image and sees the tar's files and owners`, async () => {
    assert.equal(built.status, 0, built.stderr);
    const out = join(built.outDir, format.replace('+', '-'));
    const cmdline = `${readFileSync(join(out, 'hello-cmdline'), 'utf8')} mobyts.fstype=${fstype}`;
    const r = await bootImage({
      kind: 'kernel',
      kernel: join(out, 'hello-kernel'),
      initrd,
      cmdline,
      mem: 512,
      timeoutSeconds: 240,
      disks: [{ file: join(out, image), format: 'raw', interface: 'virtio', readonly: true }],
      until: [`${MOUNT_MARKER} mobyts ${owner}`],
    });
    assert.ok(r.ok, r.failure);
  });
}
