import assert from 'node:assert/strict';
import { test } from 'node:test';
import { vmdkDescriptor } from './disk-convert.ts';

const SEED = 'c0ffee12' + '0'.repeat(56);

/** A descriptor as qemu-img writes it for a streamOptimized disk, with `cid` printed as qemu prints it (%x). */
function descriptor(cid: number, file: string): string {
  return (
    '# Disk DescriptorFile\nversion=1\n' +
    `CID=${cid.toString(16)}\nparentCID=ffffffff\ncreateType="streamOptimized"\n\n` +
    `# Extent description\nRW 131072 SPARSE "${file}"\n\n` +
    '# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = "6"\nddb.geometry.cylinders = "8"\n' +
    'ddb.geometry.heads = "255"\nddb.geometry.sectors = "63"\nddb.adapterType = "lsilogic"\n' +
    'ddb.toolsVersion = "2147483647"\n'
  );
}

/** The 20-sector region after qemu-img wrote `first`, then rewrote it in place as `second` (NUL-terminated). */
function region(first: string, second?: string): Buffer {
  const r = Buffer.alloc(20 * 512);
  r.write(first, 0, 'latin1');
  if (second !== undefined) r[r.write(second, 0, 'latin1')] = 0;
  return r;
}

void test('the VMDK descriptor gets a CID from the seed and the published name, zero-filled after the text', () => {
  const out = vmdkDescriptor(region(descriptor(0x4601f78a, '.hello.vmdk-tmp-x1')), SEED, '/out/hello.vmdk');
  const text = descriptor(0xc0ffee12, 'hello.vmdk');
  assert.equal(out.length, 20 * 512);
  assert.equal(out.toString('latin1', 0, text.length), text);
  assert.ok(out.subarray(text.length).every((b) => b === 0));
});

void test('a shorter CID rewritten over a longer one leaves old bytes behind the NUL; they do not reach the output', () => {
  const clean = vmdkDescriptor(region(descriptor(0x4601f78a, 't1')), SEED, 'hello.vmdk');
  // qemu-img's CID update: 8 digits first, then 6 (a value below 2^24), so the old text's last newline stays.
  const left = region(descriptor(0x4601f78a, 't2'), descriptor(0x1d3de4, 't2'));
  const tail = descriptor(0x1d3de4, 't2').length;
  assert.deepEqual([...left.subarray(tail, tail + 3)], [0, 0x0a, 0], 'the fixture leaves bytes after the NUL');
  assert.deepEqual(vmdkDescriptor(left, SEED, 'hello.vmdk'), clean);
});

void test('a descriptor that would outgrow its region is refused', () => {
  const full = Buffer.alloc(512, 0x61);
  full.write('CID=1\n', 0, 'latin1');
  assert.throws(() => vmdkDescriptor(full, SEED, 'hello.vmdk'), RangeError);
});
