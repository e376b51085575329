// The embedded kernel config (IKCONFIG) found in arm64's kernel forms (docs/formats.md#arm64): the plain `Image`,
// `Image.gz` (a gzip file) and EFI zboot images (a PE whose header names its payload and compression), built
// here around a small fake kernel; a zboot compression we cannot read gives a note instead of a config. What a
// build keeps of an answer between builds (pipeline/execute.ts) is checked here too: only answers any host
// would give, read back only in their own shape.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import {
  asEmbeddedConfig,
  embeddedConfig,
  findEmbeddedConfig,
  readEmbeddedConfig,
  rememberEmbeddedConfig,
  zbootPayload,
} from './embedded-config.ts';
import { checkKernel } from './check.ts';
import { getFormat } from '../outputs/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'mobyts-ikconfig-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CONFIG =
  '#\n# Linux/arm64 6.1.0 Kernel Configuration\n#\nCONFIG_IKCONFIG=y\nCONFIG_SQUASHFS=y\n# CONFIG_EROFS_FS is not set\n';

/** A fake arm64 `Image`: its header's magic (`ARM\x64` at 0x38), code-like filler, then the IKCONFIG blob. */
function arm64Image(config: string): Buffer {
  const head = Buffer.alloc(0x40);
  head.write('ARM\x64', 0x38, 'latin1');
  return Buffer.concat([
    head,
    Buffer.alloc(8192, 0xd5),
    Buffer.from('IKCFG_ST'),
    gzipSync(config),
    Buffer.from('IKCFG_ED'),
    Buffer.alloc(512, 0x1f),
  ]);
}

function le32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/**
 * An EFI zboot image: `MZ`, `zimg`, the payload's offset and size, the compression's name at 24, a PE header
 * stand-in, the payload (plus `suffix`, the size the kernel appends to all but gzip), and trailing PE data.
 */
function zboot(compression: string, payload: Buffer, suffix: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(0x200, 0);
  header.write('MZ', 0, 'latin1');
  header.write('zimg', 4, 'latin1');
  header.writeUInt32LE(header.length, 8);
  header.writeUInt32LE(payload.length, 12);
  header.write(`${compression}\0`, 24, 'latin1');
  header.writeUInt32LE(0x40, 0x3c);
  header.write('PE\0\0', 0x40, 'latin1');
  return Buffer.concat([header, payload, suffix, Buffer.alloc(4096, 0xcc)]);
}

function written(name: string, bytes: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

const image = arm64Image(CONFIG);

for (const [name, bytes] of [
  ['Image', image],
  ['Image.gz', gzipSync(image)],
  ['zboot-gzip', zboot('gzip', gzipSync(image))],
  ['zboot-zstd', zboot('zstd', zstdCompressSync(image), le32(image.length))],
  ['zboot-zstd22', zboot('zstd22', zstdCompressSync(image), le32(image.length))],
  ['zboot-xzkern', zboot('xzkern', execFileSync('xz', ['-c', '--check=crc32'], { input: image }), le32(image.length))],
] as const) {
  void test(`the embedded config of an arm64 ${name} is found, exactly`, () => {
    const path = written(name, bytes);
    assert.equal(embeddedConfig(path), CONFIG);
    assert.deepEqual(readEmbeddedConfig(path), { text: CONFIG });
  });
}

void test('a zboot image compressed with lz4 (or another method) gives a note, no config', () => {
  const path = written('zboot-lz4', zboot('lz4', Buffer.from([0x02, 0x21, 0x4c, 0x18, 1, 2, 3]), le32(1)));
  assert.equal(embeddedConfig(path), undefined);
  assert.deepEqual(readEmbeddedConfig(path), {
    note: 'the kernel is an EFI zboot image compressed with lz4: mobyts reads the embedded config of gzip, zstd and xz ones only',
  });
  // The build's kernel check says why in its one warning.
  const formats = [getFormat('kernel+initrd')];
  assert.deepEqual(checkKernel({ kernelPath: path, name: 'kernel', formats, arch: 'arm64', compress: 'gzip' }), {
    warnings: [
      'Cannot check kernel "kernel": no kernel config found (no boot/config-* or .config in the kernel image, the kernel is an EFI zboot image compressed with lz4: mobyts reads the embedded config of gzip, zstd and xz ones only)',
    ],
    errors: [],
  });
});

void test('the zboot header is read as laid out; a payload past the end of the file is not a zboot payload', () => {
  const z = zboot('zstd', Buffer.from('payload'), le32(7));
  assert.deepEqual(zbootPayload(z), { payload: Buffer.from('payload'), compression: 'zstd' });
  const broken = Buffer.from(z);
  broken.writeUInt32LE(z.length, 12);
  assert.equal(zbootPayload(broken), undefined);
  assert.equal(zbootPayload(image), undefined);
  assert.equal(zbootPayload(gzipSync(image)), undefined);
});

void test('kernels without IKCONFIG give neither a config nor a note', () => {
  const plain = Buffer.alloc(8192, 0xd5);
  for (const [name, bytes] of [
    ['plain-Image', plain],
    ['plain-Image.gz', gzipSync(plain)],
    ['plain-zboot', zboot('gzip', gzipSync(plain))],
    ['corrupt-zboot', zboot('gzip', Buffer.from([0x1f, 0x8b, 0, 0, 0]))],
  ] as const) {
    assert.deepEqual(readEmbeddedConfig(written(name, bytes)), {}, name);
  }
});

void test('an answer is lasting unless the xz tool it needed failed; a remembered answer is used without reading the kernel', () => {
  assert.equal(findEmbeddedConfig(written('lasting-Image', image)).lasting, true);
  assert.equal(findEmbeddedConfig(written('lasting-plain', Buffer.alloc(4096, 0xd5))).lasting, true);
  // an xz stream that xz rejects: the answer (no config) may differ where xz works, so it is not kept
  const badXz = Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(64, 0x55)]);
  assert.deepEqual(findEmbeddedConfig(written('zboot-bad-xz', zboot('xzkern', badXz, le32(4096)))), {
    found: {},
    lasting: false,
  });
  // what an earlier build found in the same kernel is what later questions get: the file is not read again
  const path = written('remembered', Buffer.alloc(4096, 0xd5));
  rememberEmbeddedConfig(path, { text: CONFIG });
  assert.equal(embeddedConfig(path), CONFIG);
  assert.deepEqual(findEmbeddedConfig(path), { found: { text: CONFIG }, lasting: true });
});

void test('a kept answer is used only in its own shape: anything else makes the build read the kernel again', () => {
  assert.deepEqual(asEmbeddedConfig({ text: CONFIG }), { text: CONFIG });
  assert.deepEqual(asEmbeddedConfig({ note: 'why' }), { note: 'why' });
  assert.deepEqual(asEmbeddedConfig({}), {});
  for (const bad of [null, 'text', 42, [], [CONFIG], { text: 42 }, { note: {} }, { text: CONFIG, extra: 1 }]) {
    assert.equal(asEmbeddedConfig(bad), undefined, JSON.stringify(bad));
  }
});
