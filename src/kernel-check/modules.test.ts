import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { TarEntry } from '../tar/entry.ts';
import { loadOrder, moduleIndexOf, moduleName, parseModulesDep } from './modules.ts';

const DEP = [
  'kernel/drivers/ata/ata_piix.ko: kernel/drivers/ata/libata.ko kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko',
  'kernel/drivers/ata/libata.ko: kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko',
  'kernel/drivers/scsi/scsi_mod.ko: kernel/drivers/scsi/scsi_common.ko',
  'kernel/drivers/scsi/scsi_common.ko:',
  'kernel/arch/x86/crypto/crc32c-intel.ko.xz:',
  'kernel/fs/isofs/isofs.ko: kernel/drivers/cdrom/cdrom.ko',
].join('\n');

void test('module names drop the directory and .ko suffix and spell - as _', () => {
  assert.equal(moduleName('kernel/arch/x86/crypto/crc32c-intel.ko.xz'), 'crc32c_intel');
  assert.equal(moduleName('squashfs'), 'squashfs');
});

void test('the load order puts every dependency before its user, once; absent files are reported by name', () => {
  const index = parseModulesDep(DEP, '6.1', (p) => p !== 'kernel/drivers/cdrom/cdrom.ko');
  assert.deepEqual(loadOrder(index, ['ata_piix', 'libata', 'crc32c-intel']), {
    paths: [
      'kernel/drivers/scsi/scsi_common.ko',
      'kernel/drivers/scsi/scsi_mod.ko',
      'kernel/drivers/ata/libata.ko',
      'kernel/drivers/ata/ata_piix.ko',
      'kernel/arch/x86/crypto/crc32c-intel.ko.xz',
    ],
    missing: [],
  });
  assert.deepEqual(loadOrder(index, ['isofs', 'nope']), {
    paths: ['kernel/fs/isofs/isofs.ko'],
    missing: ['cdrom', 'nope'],
  });
});

function file(name: string, body = ''): TarEntry {
  const data = Buffer.from(body);
  return {
    header: { name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: data.length },
    body: Readable.from([data]),
  };
}

void test('a filesystem tar gives the modules.dep of its lib/modules/<version> and only the .ko files it holds', async () => {
  const entries = [
    file('bin/busybox', 'x'),
    file('lib/modules/6.1/kernel/drivers/scsi/scsi_common.ko', 'k'),
    file('lib/modules/6.1/modules.dep', DEP),
    file('lib/modules/6.1/kernel/drivers/scsi/scsi_mod.ko', 'k'),
  ];
  const index = await moduleIndexOf(Readable.from(entries));
  assert.equal(index?.version, '6.1');
  assert.deepEqual([...(index?.modules.keys() ?? [])], ['scsi_mod', 'scsi_common']);
  assert.equal(await moduleIndexOf(Readable.from([file('etc/hostname', 'x')])), undefined);
});
