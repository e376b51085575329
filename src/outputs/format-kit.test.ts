// kernel+squashfs, kernel+erofs and kernel+iso with a kernel that has their root's drivers built in
// (docs/formats.md, the kernel check): exactly LinuxKit's outputs, no `N-initrd.img` and no loader, on amd64 and
// arm64, even when the modules are also shipped; the same kernel with them as modules gets the loader.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkKernel, rootVerdict } from '../kernel-check/check.ts';
import { parseConfig } from '../kernel-check/config-text.ts';
import { parseModulesDep } from '../kernel-check/modules.ts';
import { buildLoader, usesLoader, writtenOutputs } from './format-kit.ts';
import { getFormat } from './index.ts';

/** Every option the three formats' fragments name (kernel-configs/), for either arch. */
const ROOT_OPTIONS = [
  'CONFIG_VIRTIO_PCI',
  'CONFIG_VIRTIO_BLK',
  'CONFIG_SQUASHFS',
  'CONFIG_SQUASHFS_ZLIB',
  'CONFIG_CRYPTO_CRC32C',
  'CONFIG_EROFS_FS',
  'CONFIG_SCSI',
  'CONFIG_BLK_DEV_SR',
  'CONFIG_ISO9660_FS',
  'CONFIG_ATA',
  'CONFIG_ATA_PIIX',
  'CONFIG_SCSI_VIRTIO',
];
const INITRD = 'CONFIG_BLK_DEV_INITRD=y\nCONFIG_RD_GZIP=y\n';
const builtIn = parseConfig(`${INITRD}${ROOT_OPTIONS.map((o) => `${o}=y`).join('\n')}\n`);
const asModules = parseConfig(
  `${INITRD}${ROOT_OPTIONS.map((o) => `${o}=${o === 'CONFIG_SQUASHFS_ZLIB' ? 'y' : 'm'}`).join('\n')}\n`,
);

/** Every module the fragments annotate, shipped: a built-in kernel that also has them must still not use them. */
const modules = parseModulesDep(
  [
    'virtio_pci',
    'virtio_blk',
    'squashfs',
    'crc32c_generic',
    'erofs',
    'scsi_mod',
    'sr_mod',
    'isofs',
    'libata',
    'ata_piix',
    'virtio_scsi',
  ]
    .map((m) => `kernel/${m}.ko:`)
    .join('\n'),
  '6.1.0-test',
  () => true,
);

const FORMATS = [
  ['kernel+squashfs', 'squashfs', ['hello-kernel', 'hello-squashfs.img', 'hello-cmdline']],
  ['kernel+erofs', 'erofs', ['hello-kernel', 'hello-erofs.img', 'hello-cmdline']],
  ['kernel+iso', 'kernel-iso', ['hello-kernel', 'hello.iso', 'hello-cmdline']],
] as const;

for (const arch of ['amd64', 'arm64']) {
  void test(`${arch}: drivers built in → LinuxKit's outputs for kernel+squashfs/erofs/iso, no N-initrd.img, no loader`, () => {
    const kernel = { config: builtIn, modules, arch };
    for (const [name, fragment, outputs] of FORMATS) {
      const format = getFormat(name);
      assert.deepEqual(rootVerdict(builtIn, fragment, modules, arch), { kind: 'built-in' }, name);
      assert.equal(usesLoader(format, kernel), false, name);
      assert.deepEqual(writtenOutputs(format, 'hello', kernel), outputs, name);
      assert.deepEqual(format.outputs('hello'), outputs, name);
    }
    const all = FORMATS.map(([name]) => getFormat(name));
    assert.equal(buildLoader(all, kernel), undefined);
    assert.deepEqual(
      checkKernel({
        kernelPath: '/k/vmlinuz',
        configText: `${INITRD}${ROOT_OPTIONS.map((o) => `${o}=y`).join('\n')}\n`,
        formats: all,
        compress: 'gzip',
        arch,
        modules,
      }).errors,
      [],
    );
  });

  void test(`${arch}: the same options as modules → the loader, N-initrd.img among the outputs`, () => {
    const kernel = { config: asModules, modules, arch };
    for (const [name, , outputs] of FORMATS) {
      const format = getFormat(name);
      assert.equal(usesLoader(format, kernel), true, name);
      assert.deepEqual(writtenOutputs(format, 'hello', kernel), [...outputs, 'hello-initrd.img'], name);
    }
    const loader = buildLoader(
      FORMATS.map(([name]) => getFormat(name)),
      kernel,
    );
    assert.deepEqual(loader?.devices, ['/dev/sr0', '/dev/vda']);
    assert.ok(loader.modules.includes('kernel/squashfs.ko') && loader.modules.includes('kernel/isofs.ko'));
  });
}

void test('no config known (nothing to read) → no loader: LinuxKit outputs', () => {
  const format = getFormat('kernel+squashfs');
  assert.equal(usesLoader(format, { modules }), false);
  assert.deepEqual(writtenOutputs(format, 'hello', { modules }), [
    'hello-kernel',
    'hello-squashfs.img',
    'hello-cmdline',
  ]);
});
