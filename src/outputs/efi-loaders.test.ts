// The arm64 UKI: Debian's arm64 systemd-stub (fetched as a .deb unless installed), an arm64 PE whose .linux
// section is the kernel — an Image.gz is gunzipped first, since systemd-stub starts only a PE kernel.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { makeUki } from './efi-loaders.ts';

const dir = mkdtempSync(join(tmpdir(), 'mobyts-efi-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Name → raw bytes of every section of a PE file (COFF header at e_lfanew + 4). */
function peSections(pe: Buffer): Map<string, Buffer> {
  const coff = pe.readUInt32LE(0x3c) + 4;
  const count = pe.readUInt16LE(coff + 2);
  let at = coff + 20 + pe.readUInt16LE(coff + 16);
  const out = new Map<string, Buffer>();
  for (let i = 0; i < count; i++, at += 40) {
    const name = pe.toString('latin1', at, at + 8).replace(/\0+$/, '');
    const virtualSize = pe.readUInt32LE(at + 8);
    const raw = pe.readUInt32LE(at + 20);
    out.set(name, pe.subarray(raw, raw + Math.min(virtualSize, pe.readUInt32LE(at + 16))));
  }
  return out;
}

void test('an arm64 UKI from an Image.gz carries the decompressed Image, the initrd and the cmdline; zero PE stamps', async () => {
  const image = Buffer.alloc(8192, 0x41);
  image.write('ARM\x64', 56, 'latin1');
  writeFileSync(join(dir, 'Image.gz'), gzipSync(image));
  writeFileSync(join(dir, 'initrd'), 'INITRD');
  const out = join(dir, 'a.efi');
  await makeUki({
    arch: 'arm64',
    kernel: join(dir, 'Image.gz'),
    initrd: join(dir, 'initrd'),
    cmdline: 'console=ttyAMA0',
    out,
    workDir: join(dir, 'w'),
    sourceDateEpoch: 1492533000,
  });
  const pe = readFileSync(out);
  const coff = pe.readUInt32LE(0x3c) + 4;
  assert.equal(pe.readUInt16LE(coff), 0xaa64);
  assert.equal(pe.readUInt32LE(coff + 4), 0);
  const s = peSections(pe);
  assert.ok(s.get('.linux')?.equals(image));
  assert.equal(s.get('.initrd')?.toString(), 'INITRD');
  assert.equal(s.get('.cmdline')?.toString(), 'console=ttyAMA0');
  assert.match(s.get('.osrel')?.toString() ?? '', /^NAME="LinuxKit"/);
});
