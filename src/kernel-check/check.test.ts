import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { canMountIsoRoot, checkKernel, kernelConfigOf, rootVerdict } from './check.ts';
import { parseModulesDep } from './modules.ts';
import { parseConfig, parseFragment, unmet } from './config-text.ts';
import { embeddedConfig } from './embedded-config.ts';
import { getFormat } from '../outputs/index.ts';

/** The format records the build would hand the check for these names. */
const records = (...names: string[]) => names.map(getFormat);

const dir = mkdtempSync(join(tmpdir(), 'mobyts-kcheck-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const FULL = [
  'CONFIG_BLK_DEV_INITRD=y',
  'CONFIG_RD_GZIP=y',
  'CONFIG_RD_ZSTD=y',
  'CONFIG_EFI=y',
  'CONFIG_EFI_STUB=y',
  'CONFIG_FB_EFI=y',
  'CONFIG_VFAT_FS=m',
  'CONFIG_ATA=y',
  'CONFIG_ATA_PIIX=y',
  'CONFIG_SCSI=y',
  'CONFIG_BLK_DEV_SR=y',
  'CONFIG_ISO9660_FS=y',
].join('\n');

/** A minimal x86 bzImage: setup header with HdrS, setup_sects=1, payload_offset/length pointing at `payload`. */
function bzImage(payload: Buffer): Buffer {
  const setup = Buffer.alloc(1024 + 0x100);
  setup[0x1f1] = 1;
  setup.write('HdrS', 0x202, 'latin1');
  setup.writeUInt16LE(0x020f, 0x206); // boot protocol 2.15: payload_offset/length exist from 2.08
  setup.writeUInt32LE(0x100, 0x248);
  setup.writeUInt32LE(payload.length, 0x24c);
  return Buffer.concat([setup, payload, Buffer.alloc(64)]);
}

function vmlinux(config: string): Buffer {
  return Buffer.concat([
    Buffer.alloc(4096, 7),
    Buffer.from('IKCFG_ST'),
    gzipSync(config),
    Buffer.from('IKCFG_ED'),
    Buffer.alloc(100),
  ]);
}

function sizeSuffix(b: Buffer, n: number): Buffer {
  const s = Buffer.alloc(4);
  s.writeUInt32LE(n);
  return Buffer.concat([b, s]);
}

void test('parseConfig reads set and unset options; fragments keep only y/m requirements', () => {
  const c = parseConfig('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=m\nCONFIG_D="x"\n');
  assert.deepEqual(
    [...c],
    [
      ['CONFIG_A', 'y'],
      ['CONFIG_B', 'n'],
      ['CONFIG_C', 'm'],
      ['CONFIG_D', '"x"'],
    ],
  );
  assert.deepEqual(parseFragment('# comment\nCONFIG_A=y\nCONFIG_C=m\n'), [
    { option: 'CONFIG_A', need: 'y' },
    { option: 'CONFIG_C', need: 'm' },
  ]);
  assert.deepEqual(parseFragment('CONFIG_SQUASHFS=y # module squashfs\nCONFIG_X=y # not a module note\n'), [
    { option: 'CONFIG_SQUASHFS', need: 'y', module: 'squashfs' },
    { option: 'CONFIG_X', need: 'y' },
  ]);
  assert.deepEqual(unmet(c, parseFragment('CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=y\nCONFIG_E=m\n')), [
    'CONFIG_B=y (not set)',
    'CONFIG_C=y (is m)',
    'CONFIG_E=m (not set)',
  ]);
});

for (const [name, wrap] of [
  ['uncompressed vmlinux', (v: Buffer) => v],
  ['gzip bzImage', (v: Buffer) => bzImage(gzipSync(v))],
  ['zstd bzImage', (v: Buffer) => bzImage(sizeSuffix(zstdCompressSync(v), v.length))],
  [
    'xz bzImage',
    (v: Buffer) => bzImage(sizeSuffix(execFileSync('xz', ['-c', '--check=crc32'], { input: v }), v.length)),
  ],
] as const) {
  void test(`the embedded IKCONFIG is found in a ${name}`, () => {
    const path = join(dir, name.replaceAll(' ', '-'));
    writeFileSync(path, wrap(vmlinux(`${FULL}\n`)));
    assert.equal(embeddedConfig(path), `${FULL}\n`);
    assert.equal(canMountIsoRoot(kernelConfigOf(path)), true);
  });
}

void test('a kernel without config gives exactly one warning and no errors', () => {
  const path = join(dir, 'plain');
  writeFileSync(path, bzImage(gzipSync(Buffer.alloc(5000, 1))));
  assert.deepEqual(
    checkKernel({ kernelPath: path, formats: records('iso-bios', 'raw-efi', 'uki'), compress: 'gzip' }),
    {
      warnings: [
        'Cannot check kernel "plain": no kernel config found (no boot/config-* or .config in the kernel image, no embedded IKCONFIG)',
      ],
      errors: [],
    },
  );
});

void test('formats without kernel needs (tar, docker) are not checked at all', () => {
  assert.deepEqual(checkKernel({ kernelPath: '/nonexistent', formats: records('tar', 'docker'), compress: 'gzip' }), {
    warnings: [],
    errors: [],
  });
});

void test('missing options are named per format: the EFI stub for uki, zstd for a zstd initrd', () => {
  const configText = FULL.replace('CONFIG_EFI_STUB=y', '# CONFIG_EFI_STUB is not set').replace(
    'CONFIG_RD_ZSTD=y',
    'CONFIG_RD_ZSTD=n',
  );
  const r = checkKernel({
    kernelPath: '/k/vmlinuz',
    configText,
    formats: records('uki', 'raw-bios'),
    compress: 'zstd',
  });
  assert.deepEqual(r.errors, [
    'Kernel "vmlinuz" cannot boot format "uki": unpacking a zstd initrd needs CONFIG_RD_ZSTD=y (not set)',
    'Kernel "vmlinuz" cannot boot format "uki": booting through UEFI needs CONFIG_EFI_STUB=y (not set)',
    'Kernel "vmlinuz" cannot boot format "raw-bios": unpacking a zstd initrd needs CONFIG_RD_ZSTD=y (not set)',
  ]);
  assert.ok(
    r.warnings.some((w) =>
      w.startsWith(
        'Kernel "vmlinuz" lacks what running containers (namespaces, cgroups, overlayfs) needs: CONFIG_DEVTMPFS=y (not set)',
      ),
    ),
  );
});

void test('iso-bios with a kernel that has CD + ISO 9660 built in needs no initrd; without them the initrd fallback is announced', () => {
  const ok = checkKernel({
    kernelPath: '/k/vmlinuz',
    configText: FULL.replace('CONFIG_BLK_DEV_INITRD=y', ''),
    formats: records('iso-bios'),
    compress: 'gzip',
  });
  assert.deepEqual(ok.errors, []);
  assert.ok(!ok.warnings.some((w) => w.includes('cannot mount root from the CD')));
  const mod = checkKernel({
    kernelPath: '/k/vmlinuz',
    configText: FULL.replace('CONFIG_ISO9660_FS=y', 'CONFIG_ISO9660_FS=m'),
    formats: records('iso-bios', 'iso-efi'),
    compress: 'gzip',
  });
  assert.deepEqual(mod.errors, []);
  assert.ok(
    mod.warnings.includes(
      'Kernel "vmlinuz" cannot mount root from the CD (CONFIG_ISO9660_FS=y (is m)): iso-bios, iso-efi will also carry the initrd and boot kernel+initrd',
    ),
  );
});

void test('arm64 reads its own part of a fragment: the PL011 console, and root from an ISO on virtio instead of PIIX', () => {
  const arm = [
    'CONFIG_BLK_DEV_INITRD=y',
    'CONFIG_RD_GZIP=y',
    'CONFIG_EFI=y',
    'CONFIG_EFI_STUB=y',
    'CONFIG_FB_EFI=y',
    'CONFIG_VFAT_FS=m',
    'CONFIG_SCSI=y',
    'CONFIG_BLK_DEV_SR=y',
    'CONFIG_ISO9660_FS=y',
    'CONFIG_VIRTIO_PCI=y',
    'CONFIG_VIRTIO_BLK=y',
    'CONFIG_VIRTIO_NET=m',
    'CONFIG_VIRTIO_CONSOLE=m',
    'CONFIG_SERIAL_AMBA_PL011=y',
    'CONFIG_SERIAL_AMBA_PL011_CONSOLE=y',
  ].join('\n');
  const path = join(dir, 'Image');
  writeFileSync(path, 'not a kernel');
  assert.equal(canMountIsoRoot(parseConfig(arm), 'arm64'), true);
  assert.equal(canMountIsoRoot(parseConfig(arm)), false);
  const advisedOnly = (a: string) =>
    checkKernel({
      kernelPath: path,
      configText: arm,
      formats: records('iso-efi'),
      compress: 'gzip',
      arch: a,
      name: 'k',
    }).warnings.filter((w) => w.includes('mobyts run qemu') || w.includes('from the CD'));
  assert.deepEqual(advisedOnly('arm64'), []);
  assert.deepEqual(advisedOnly('amd64'), [
    'Kernel "k" cannot mount root from the CD (CONFIG_ATA=y (not set), CONFIG_ATA_PIIX=y (not set)): iso-efi will also carry the initrd and boot kernel+initrd',
    'Kernel "k" lacks what `mobyts run qemu` (virtio devices, serial console) needs: CONFIG_SERIAL_8250=y (not set), CONFIG_SERIAL_8250_CONSOLE=y (not set)',
  ]);
});

void test('a root need is met built in (no loader), by shipped modules (the loader loads them), or is one error naming what is missing', () => {
  const index = parseModulesDep(
    'kernel/fs/squashfs/squashfs.ko:\nkernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko\nkernel/drivers/virtio/virtio.ko:\nkernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio.ko\n',
    '6.1',
    () => true,
  );
  const built = parseConfig(
    `${FULL}\nCONFIG_VIRTIO_PCI=y\nCONFIG_VIRTIO_BLK=y\nCONFIG_SQUASHFS=y\nCONFIG_SQUASHFS_ZLIB=y\n`,
  );
  assert.deepEqual(rootVerdict(built, 'squashfs', undefined), { kind: 'built-in' });
  const modular = parseConfig(
    `${FULL}\nCONFIG_VIRTIO_PCI=m\nCONFIG_VIRTIO_BLK=m\nCONFIG_SQUASHFS=m\nCONFIG_SQUASHFS_ZLIB=y\n`,
  );
  assert.deepEqual(rootVerdict(modular, 'squashfs', index), {
    kind: 'loader',
    modules: ['virtio_pci', 'virtio_blk', 'squashfs'],
  });
  const noZlib = parseConfig(
    `${FULL.replace('CONFIG_RD_GZIP=y', '')}\nCONFIG_VIRTIO_PCI=m\nCONFIG_VIRTIO_BLK=m\nCONFIG_SQUASHFS=m\n`,
  );
  assert.deepEqual(rootVerdict(noZlib, 'squashfs', index), {
    kind: 'missing',
    missing: ['CONFIG_SQUASHFS_ZLIB=y (not set)', 'CONFIG_RD_GZIP=y (not set)'],
  });
  const sq = records('kernel+squashfs');
  assert.deepEqual(
    checkKernel({
      kernelPath: '/k/vmlinuz',
      configText: `${FULL}\nCONFIG_VIRTIO_PCI=m\nCONFIG_VIRTIO_BLK=m\nCONFIG_SQUASHFS=m\nCONFIG_SQUASHFS_ZLIB=y\n`,
      formats: sq,
      compress: 'gzip',
      modules: index,
    }).errors,
    [],
  );
  const withoutSquashfs = parseModulesDep(
    'kernel/drivers/block/virtio_blk.ko:\nkernel/drivers/virtio/virtio_pci.ko:\n',
    '6.1',
    () => true,
  );
  assert.deepEqual(
    checkKernel({
      kernelPath: '/k/vmlinuz',
      configText: `${FULL}\nCONFIG_VIRTIO_PCI=m\nCONFIG_VIRTIO_BLK=m\nCONFIG_SQUASHFS=m\nCONFIG_SQUASHFS_ZLIB=y\n`,
      formats: sq,
      compress: 'gzip',
      modules: withoutSquashfs,
    }).errors,
    [
      'Kernel "vmlinuz" cannot boot format "kernel+squashfs": mounting the squashfs image as root needs CONFIG_SQUASHFS=y (is m, and squashfs.ko is not in lib/modules/6.1)',
    ],
  );
});

void test("kernel+iso's CD controller is per arch: libata + ata_piix on amd64, virtio_scsi on arm64 (loaded by the loader)", () => {
  const index = parseModulesDep(
    [
      'kernel/drivers/ata/ata_piix.ko: kernel/drivers/ata/libata.ko kernel/drivers/scsi/scsi_mod.ko',
      'kernel/drivers/ata/libata.ko: kernel/drivers/scsi/scsi_mod.ko',
      'kernel/drivers/scsi/scsi_mod.ko:',
      'kernel/drivers/scsi/sr_mod.ko: kernel/drivers/scsi/scsi_mod.ko',
      'kernel/fs/isofs/isofs.ko:',
      'kernel/drivers/scsi/virtio_scsi.ko: kernel/drivers/scsi/scsi_mod.ko',
      'kernel/drivers/virtio/virtio_pci.ko:',
      '',
    ].join('\n'),
    '6.1',
    () => true,
  );
  const config = parseConfig(
    `${FULL.replace(/CONFIG_(ATA|ATA_PIIX|SCSI|BLK_DEV_SR|ISO9660_FS)=y\n?/g, '')}\nCONFIG_ATA=m\nCONFIG_ATA_PIIX=m\nCONFIG_SCSI=m\nCONFIG_BLK_DEV_SR=m\nCONFIG_ISO9660_FS=m\nCONFIG_VIRTIO_PCI=m\nCONFIG_SCSI_VIRTIO=m\n`,
  );
  assert.deepEqual(rootVerdict(config, 'kernel-iso', index), {
    kind: 'loader',
    modules: ['libata', 'ata_piix', 'scsi_mod', 'sr_mod', 'isofs'],
  });
  assert.deepEqual(rootVerdict(config, 'kernel-iso', index, 'arm64'), {
    kind: 'loader',
    modules: ['virtio_pci', 'virtio_scsi', 'scsi_mod', 'sr_mod', 'isofs'],
  });
  const noPiix = parseConfig(
    `${FULL.replace(/CONFIG_(ATA|ATA_PIIX)=y\n?/g, '')}\nCONFIG_VIRTIO_PCI=y\nCONFIG_SCSI_VIRTIO=y\n`,
  );
  assert.deepEqual(
    rootVerdict(noPiix, 'kernel-iso', undefined, 'arm64'),
    { kind: 'built-in' },
    "an arm64 kernel is not asked for the PC's IDE driver",
  );
  assert.deepEqual(rootVerdict(noPiix, 'kernel-iso', undefined), {
    kind: 'missing',
    missing: ['CONFIG_ATA=y (not set)', 'CONFIG_ATA_PIIX=y (not set)'],
  });
});
