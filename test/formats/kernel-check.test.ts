/**
 * The kernel check against the real Debian kernel (linux-image .deb): its config found in the package's tar,
 * and the verdicts a user of a distribution kernel gets for each format.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { checkKernel } from '../../src/kernel-check/check.ts';
import { configFromTar } from '../../src/kernel-check/tar-config.ts';
import { getFormat } from '../../src/outputs/index.ts';
import { moduleIndexOf } from '../../src/kernel-check/modules.ts';
import { readTarFile } from '../../src/tar/io.ts';
import { testKernel } from '../helpers/kernel.ts';
import { ALL_FORMATS, debianKernel } from './fixtures.ts';

const records = (...names: string[]) => names.map(getFormat);

const dir = mkdtempSync(join(tmpdir(), 'mobyts-kernel-check-'));
after(() => rmSync(dir, { recursive: true, force: true }));

void test('the config is found at boot/config-* in a kernel tar', async () => {
  const k = debianKernel();
  const kdir = join(dir, 'k');
  mkdirSync(join(kdir, 'boot'), { recursive: true });
  copyFileSync(k.bzImage, join(kdir, 'boot/vmlinuz-6.1'));
  writeFileSync(join(kdir, 'boot/config-6.1'), k.configText);
  execFileSync('tar', ['-C', kdir, '-cf', join(dir, 'kernel.tar'), 'boot']);
  assert.equal(await configFromTar(join(dir, 'kernel.tar')), k.configText);
  execFileSync('tar', ['-C', kdir, '-cf', join(dir, 'noconfig.tar'), 'boot/vmlinuz-6.1']);
  assert.equal(await configFromTar(join(dir, 'noconfig.tar')), undefined);
});

void test("Debian's kernel: the ISOs fall back to the initrd, the rootfs-image formats boot through the loader, the rest pass", async () => {
  const k = debianKernel();
  const modules = await moduleIndexOf(readTarFile(testKernel().modulesTar));
  assert.equal(modules?.modules.has('squashfs'), true);
  const r = checkKernel({
    kernelPath: k.bzImage,
    configText: k.configText,
    formats: records(...ALL_FORMATS),
    compress: 'gzip',
    ...(modules === undefined ? {} : { modules }),
  });
  const name = k.bzImage.split('/').at(-1);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings, [
    `Kernel "${name}" cannot mount root from the CD (CONFIG_ATA=y (is m), CONFIG_ATA_PIIX=y (is m), CONFIG_SCSI=y (is m), CONFIG_BLK_DEV_SR=y (is m), CONFIG_ISO9660_FS=y (is m)): iso-bios, iso-efi will also carry the initrd and boot kernel+initrd`,
  ]);
  const zstd = checkKernel({
    kernelPath: k.bzImage,
    configText: k.configText,
    formats: records('raw-efi', 'uki'),
    compress: 'zstd',
  });
  assert.deepEqual(zstd, { warnings: [], errors: [] });
});

void test("Debian's kernel without its modules: one error per rootfs-image format, naming every option it lacks", () => {
  const k = debianKernel();
  const r = checkKernel({
    kernelPath: k.bzImage,
    configText: k.configText,
    formats: records('kernel+squashfs', 'kernel+erofs', 'kernel+iso'),
    compress: 'gzip',
  });
  const name = k.bzImage.split('/').at(-1);
  const why = '(are m, and the kernel image has no lib/modules/*/modules.dep)';
  assert.deepEqual(r.errors, [
    `Kernel "${name}" cannot boot format "kernel+squashfs": mounting the squashfs image as root needs CONFIG_VIRTIO_PCI=y, CONFIG_VIRTIO_BLK=y, CONFIG_SQUASHFS=y ${why}`,
    `Kernel "${name}" cannot boot format "kernel+erofs": mounting the erofs image as root needs CONFIG_VIRTIO_PCI=y, CONFIG_VIRTIO_BLK=y, CONFIG_CRYPTO_CRC32C=y, CONFIG_EROFS_FS=y ${why}`,
    `Kernel "${name}" cannot boot format "kernel+iso": mounting the data ISO as root needs CONFIG_ATA=y, CONFIG_ATA_PIIX=y, CONFIG_SCSI=y, CONFIG_BLK_DEV_SR=y, CONFIG_ISO9660_FS=y ${why}`,
  ]);
});

void test("Debian's kernel has no embedded config: one warning, no errors", () => {
  const k = debianKernel();
  const r = checkKernel({ kernelPath: k.bzImage, formats: records('iso-bios', 'raw-bios'), compress: 'gzip' });
  assert.deepEqual(r, {
    warnings: [
      `Cannot check kernel "${k.bzImage.split('/').at(-1)}": no kernel config found (no boot/config-* or .config in the kernel image, no embedded IKCONFIG)`,
    ],
    errors: [],
  });
});
