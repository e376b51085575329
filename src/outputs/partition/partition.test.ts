import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { writeDisk } from './disk.ts';
import { ESP_TYPE, LINUX_FS_TYPE, gptLayout } from './gpt.ts';
import { derivedGuid, guidBytes } from './guid.ts';
import { chs, mbrSector } from './mbr.ts';

const dir = mkdtempSync(join(tmpdir(), 'mobyts-partition-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface SfdiskJson {
  partitiontable: {
    label: string;
    id: string;
    firstlba?: number;
    lastlba?: number;
    partitions: Array<Record<string, unknown>>;
  };
}

function sfdisk(...args: string[]): string {
  return execFileSync('sfdisk', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

void test('GUIDs are stored mixed-endian (the ESP type GUID bytes from the UEFI spec)', () => {
  assert.equal(guidBytes(ESP_TYPE).toString('hex'), '28732ac11ff8d211ba4b00a0c93ec93b');
});

void test('derived GUIDs are stable, version 4 / RFC 4122 shaped, and differ with the content', () => {
  const a = derivedGuid('disk', 'abc');
  assert.equal(a, derivedGuid('disk', 'abc'));
  assert.notEqual(a, derivedGuid('disk', 'abd'));
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

void test('a GPT disk we write is read back by sfdisk exactly and verifies without errors', async () => {
  const diskSectors = 8 * 2048;
  const parts = [
    { start: 2048, sectors: 4096, type: ESP_TYPE, guid: derivedGuid('p1'), name: 'EFI System', attributes: 1n << 2n },
    { start: 6144, sectors: 8192, type: LINUX_FS_TYPE, guid: derivedGuid('p2'), name: 'root' },
  ];
  const gpt = gptLayout({ diskSectors, diskGuid: derivedGuid('disk'), partitions: parts });
  const path = join(dir, 'gpt.img');
  await writeDisk(path, diskSectors * 512, [
    { offset: 0, data: gpt.primary },
    { offset: gpt.backupOffset, data: gpt.backup },
  ]);
  const t = (JSON.parse(sfdisk('-J', path)) as SfdiskJson).partitiontable;
  assert.equal(t.label, 'gpt');
  assert.equal(t.id, derivedGuid('disk').toUpperCase());
  assert.equal(t.firstlba, 34);
  assert.equal(t.lastlba, diskSectors - 34);
  assert.deepEqual(
    t.partitions.map((p) => [p.start, p.size, p.type, p.uuid, p.name, p.attrs]),
    [
      [2048, 4096, ESP_TYPE.toUpperCase(), derivedGuid('p1').toUpperCase(), 'EFI System', 'LegacyBIOSBootable'],
      [6144, 8192, LINUX_FS_TYPE.toUpperCase(), derivedGuid('p2').toUpperCase(), 'root', undefined],
    ],
  );
  assert.match(sfdisk('-V', path), /No errors detected/);
  // The backup header is the last sector and points back at LBA 1; both CRCs are what sfdisk accepted.
  const disk = readFileSync(path);
  const backup = disk.subarray(disk.length - 512);
  assert.equal(backup.toString('latin1', 0, 8), 'EFI PART');
  assert.equal(backup.readBigUInt64LE(24), BigInt(diskSectors - 1));
  assert.equal(backup.readBigUInt64LE(32), 1n);
  assert.equal(backup.readUInt32LE(88), crc32(disk.subarray(1024, 1024 + 16384)));
});

void test('a corrupted primary header CRC is noticed by sfdisk (the CRCs are really checked)', async () => {
  const gpt = gptLayout({
    diskSectors: 4096,
    diskGuid: derivedGuid('d'),
    partitions: [{ start: 2048, sectors: 1024, type: ESP_TYPE, guid: derivedGuid('x'), name: 'EFI System' }],
  });
  const bad = Buffer.from(gpt.primary);
  bad[512 + 16] = bad[512 + 16]! ^ 0xff;
  const path = join(dir, 'bad.img');
  await writeDisk(path, 4096 * 512, [
    { offset: 0, data: bad },
    { offset: gpt.backupOffset, data: gpt.backup },
  ]);
  assert.match(
    execFileSync('sh', ['-c', 'sfdisk -V "$1" 2>&1 || true', 'sh', path], { encoding: 'utf8' }),
    /primary GPT header.*corrupt|checksum|corrupt/i,
  );
});

void test('overlapping or out-of-range GPT partitions are refused', () => {
  const p = { type: ESP_TYPE, guid: derivedGuid('x'), name: 'a' };
  assert.throws(
    () =>
      gptLayout({
        diskSectors: 4096,
        diskGuid: derivedGuid('d'),
        partitions: [
          { ...p, start: 2048, sectors: 100 },
          { ...p, start: 2100, sectors: 10 },
        ],
      }),
    RangeError,
  );
  assert.throws(
    () =>
      gptLayout({ diskSectors: 4096, diskGuid: derivedGuid('d'), partitions: [{ ...p, start: 2048, sectors: 2048 }] }),
    /does not fit in sectors 34\.\.4062/,
  );
});

void test('an MBR disk we write is read back by sfdisk: signature, bootable FAT32 LBA partition, boot code kept', async () => {
  const code = Buffer.alloc(440, 0x90);
  const mbr = mbrSector({
    bootCode: code,
    diskSignature: 0x0b007ab5,
    partitions: [{ start: 2048, sectors: 20480, type: 0x0c, bootable: true }],
  });
  const path = join(dir, 'mbr.img');
  writeFileSync(path, Buffer.alloc(0));
  await writeDisk(path, 24 * 1024 * 1024, [{ offset: 0, data: mbr }]);
  const t = (JSON.parse(sfdisk('-J', path)) as SfdiskJson).partitiontable;
  assert.equal(t.label, 'dos');
  assert.equal(t.id, '0x0b007ab5');
  assert.deepEqual(
    t.partitions.map((p) => [p.start, p.size, p.type, p.bootable]),
    [[2048, 20480, 'c', true]],
  );
  assert.match(sfdisk('-V', path), /No errors detected/);
  assert.deepEqual(readFileSync(path).subarray(0, 440), code);
});

void test('CHS addresses use 255 heads / 63 sectors and saturate beyond cylinder 1023', () => {
  assert.deepEqual([...chs(2048)], [32, 33, 0]);
  assert.deepEqual([...chs(0)], [0, 1, 0]);
  assert.deepEqual([...chs(1024 * 255 * 63)], [0xfe, 0xff, 0xff]);
});
