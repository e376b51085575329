/** --decompress-kernel on synthetic bzImages (gzip, zstd, lz4 payloads) and on a real Debian kernel (xz). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { bzImagePayload, decompressKernel } from '../../src/initrd/decompress-kernel.ts';
import { testKernelOrSkip } from '../helpers/kernel.ts';

const VMLINUX = Buffer.concat([
  Buffer.from([0x7f, 0x45, 0x4c, 0x46]),
  Buffer.alloc(5000, 0x90),
  Buffer.from('end of vmlinux'),
]);

/** A minimal bzImage: 2 setup sectors, header protocol 2.15, payload at offset 100 of the protected-mode part. */
function bzImage(payload: Buffer, appendSize: boolean): Buffer {
  const body = appendSize ? Buffer.concat([payload, Buffer.from(new Uint32Array([VMLINUX.length]).buffer)]) : payload;
  const img = Buffer.alloc(3 * 512 + 100 + body.length + 64);
  img[0x1f1] = 2;
  img.write('HdrS', 0x202, 'latin1');
  img.writeUInt16LE(0x20f, 0x206);
  img.writeUInt32LE(100, 0x248);
  img.writeUInt32LE(body.length, 0x24c);
  body.copy(img, 3 * 512 + 100);
  return img;
}

void test('bzImage payloads in gzip, zstd and lz4 decompress to the vmlinux bytes', async () => {
  const lz4 = execFileSync('lz4', ['-l', '-c', '-9'], { input: VMLINUX });
  for (const [kind, img] of [
    ['gzip', bzImage(gzipSync(VMLINUX), false)],
    ['zstd', bzImage(zstdCompressSync(VMLINUX), true)],
    ['lz4', bzImage(lz4, true)],
  ] as const) {
    assert.deepEqual(await decompressKernel(img), VMLINUX, kind);
  }
});

void test('a gzip kernel (arm64 Image.gz) is gunzipped; other inputs are refused with the reason', async () => {
  assert.deepEqual(await decompressKernel(gzipSync(VMLINUX)), VMLINUX);
  await assert.rejects(decompressKernel(Buffer.from('not a kernel at all')), {
    code: 'BUILD',
    message:
      'Cannot decompress the kernel: it is neither gzip-compressed nor an x86 bzImage (boot protocol 2.08 or later)',
  });
  await assert.rejects(decompressKernel(bzImage(Buffer.from('BZh91AY&SY'), true)), {
    message: 'Cannot decompress the kernel: its payload is compressed with bzip2, which is not supported',
  });
});

void test('a real Debian 6.1 bzImage (xz payload) decompresses to its vmlinux ELF of the advertised size', async (t) => {
  const k = testKernelOrSkip();
  if ('skip' in k) {
    t.skip(k.skip);
    return;
  }
  const kernel = readFileSync(k.bzImage);
  const payload = bzImagePayload(kernel);
  assert.ok(payload !== undefined);
  assert.deepEqual([...payload.subarray(0, 6)], [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
  const vmlinux = await decompressKernel(kernel);
  assert.deepEqual([...vmlinux.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
  assert.equal(vmlinux.length, payload.readUInt32LE(payload.length - 4)); // the size Linux appends to the payload
});
