// readTar → writeTar straight from a file: the path every tar-derived format takes (the filesystem tar is
// written once, then read back for the initrd, the ISO and the disk images). Bodies span many chunks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { entryStreamOf } from '../../src/tar/streams.ts';
import { readTar } from '../../src/tar/read.ts';
import { writeTar } from '../../src/tar/write.ts';

function collect(): { out: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  return {
    out: new Writable({
      write(c: Buffer, _e, cb) {
        chunks.push(c);
        cb();
      },
    }),
    bytes: () => Buffer.concat(chunks),
  };
}

void test('a tar read from a file and written again is byte-identical, whatever the body sizes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mobyts-tar-copy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sizes = [0, 1, 511, 512, 65_535, 65_536, 65_537, 1_000_003, 3 << 20];
  const entries = sizes.map((size, i) => {
    const data = randomBytes(size);
    return {
      header: { name: `lib/modules/m${i}.ko`, type: 'file' as const, mode: 0o644, uid: 0, gid: 0, mtime: 1, size },
      body: Readable.from([data]),
    };
  });
  const original = collect();
  await writeTar(entryStreamOf(entries), original.out);
  const path = join(dir, 'kernel.tar');
  writeFileSync(path, original.bytes());
  const copy = collect();
  await writeTar(readTar(createReadStream(path, { highWaterMark: 16 * 1024 })), copy.out);
  assert.ok(copy.bytes().equals(readFileSync(path)), 'copy differs from the original');
});

void test('a body read again from its own data handler does not stall', async () => {
  const data = randomBytes(1 << 20);
  const archive = collect();
  await writeTar(
    entryStreamOf([
      {
        header: { name: 'big', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1, size: data.length },
        body: Readable.from([data]),
      },
    ]),
    archive.out,
  );
  for await (const entry of readTar(Readable.from([archive.bytes()]))) {
    const body = entry.body!;
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      // read(0) while the reader's pull is still in flight: Node asks for more only once.
      body.on('data', (c: Buffer) => {
        chunks.push(c);
        body.read(0);
      });
      body.on('end', resolve).on('error', reject);
    });
    assert.ok(Buffer.concat(chunks).equals(data));
  }
});
