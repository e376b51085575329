/**
 * Writing an initrd from its parts (src/initrd/parts.ts): the exact bytes whatever the destination held before;
 * a previous file is kept only when every byte matches, reused only up to its last matching part (known from the
 * last build's record while the file is the one recorded, read otherwise); a cached part
 * that does not match its digest is evicted and never shipped, and the destination is then left as it was.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DamagedSegment, writeParts, type InitrdPart, type InitrdParts } from '../../src/initrd/parts.ts';
import { outputLayouts } from '../../src/store/output-layouts.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mobyts-parts-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const digest = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function part(name: string, bytes: Buffer, cacheKey?: string): Promise<InitrdPart> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return { path, size: bytes.length, digest: digest(bytes), ...(cacheKey === undefined ? {} : { cacheKey }) };
}

/** Three parts (one larger than a read piece) and a tail; `last` varies the last part. */
async function initrd(last: string): Promise<{ parts: InitrdParts; bytes: Buffer }> {
  const a = Buffer.alloc((1 << 20) + 777, 'a');
  const b = Buffer.from('bbbb'.repeat(1000));
  const c = Buffer.from(last);
  const tail = Buffer.from('TRAILER');
  const parts = [await part('a', a, 'key-a'), await part('b', b), await part(`c-${last}`, c)];
  return { parts: { parts, tail }, bytes: Buffer.concat([a, b, c, tail]) };
}

async function leftovers(): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('.'));
}

void test('written, kept, reused up to the first changed part: the exact bytes each time', async () => {
  const dest = join(dir, 'initrd.img');
  const one = await initrd('first');
  assert.deepEqual(await writeParts(dest, one.parts), { kept: false, reusedParts: 0, reusedBytes: 0, recorded: false });
  assert.ok((await readFile(dest)).equals(one.bytes));
  assert.equal((await stat(dest)).mode & 0o777, 0o644);

  const ino = (await stat(dest)).ino;
  assert.deepEqual(await writeParts(dest, one.parts), { kept: true, recorded: false });
  assert.equal((await stat(dest)).ino, ino, 'the same file, not rewritten');

  const two = await initrd('second, longer');
  const a = one.parts.parts[0]?.size ?? 0;
  const b = one.parts.parts[1]?.size ?? 0;
  assert.deepEqual(await writeParts(dest, two.parts), {
    kept: false,
    reusedParts: 2,
    reusedBytes: a + b,
    recorded: false,
  });
  assert.ok((await readFile(dest)).equals(two.bytes));
  assert.notEqual((await stat(dest)).ino, ino, 'renamed into place');

  // Longer than the initrd (bytes after the tail): every part reused, the tail written again, the rest cut.
  await writeFile(dest, Buffer.concat([two.bytes, Buffer.from('junk')]));
  assert.deepEqual(await writeParts(dest, two.parts), {
    kept: false,
    reusedParts: 3,
    reusedBytes: two.bytes.length - 7,
    recorded: false,
  });
  assert.ok((await readFile(dest)).equals(two.bytes));

  // Damaged in its first part: nothing reused.
  const damaged = Buffer.from(two.bytes);
  damaged[5] = 0;
  await writeFile(dest, damaged);
  assert.deepEqual(await writeParts(dest, two.parts), { kept: false, reusedParts: 0, reusedBytes: 0, recorded: false });
  assert.ok((await readFile(dest)).equals(two.bytes));
  assert.deepEqual(await leftovers(), []);
});

void test("with the last build's record of the file: known without reading it while it is that file, read again once it changed", async () => {
  const dest = join(dir, 'recorded.img');
  const layouts = outputLayouts(join(dir, 'cache'));
  const one = await initrd('first');
  assert.deepEqual(await writeParts(dest, one.parts, { layouts }), {
    kept: false,
    reusedParts: 0,
    reusedBytes: 0,
    recorded: false,
  });
  assert.deepEqual(await writeParts(dest, one.parts, { layouts }), { kept: true, recorded: true });
  const two = await initrd('second, longer');
  const a = one.parts.parts[0]?.size ?? 0;
  const b = one.parts.parts[1]?.size ?? 0;
  assert.deepEqual(await writeParts(dest, two.parts, { layouts }), {
    kept: false,
    reusedParts: 2,
    reusedBytes: a + b,
    recorded: true,
  });
  assert.ok((await readFile(dest)).equals(two.bytes));
  // Written by someone else since (same length, damaged in its first part): read, and nothing of it reused.
  const damaged = Buffer.from(two.bytes);
  damaged[5] = 0;
  await writeFile(dest, damaged);
  assert.deepEqual(await writeParts(dest, two.parts, { layouts }), {
    kept: false,
    reusedParts: 0,
    reusedBytes: 0,
    recorded: false,
  });
  assert.ok((await readFile(dest)).equals(two.bytes));
  // A damaged record is no record.
  for (const f of await readdir(join(dir, 'cache', '.mobyts', 'outputs')))
    await writeFile(join(dir, 'cache', '.mobyts', 'outputs', f), '{"identity": 1');
  assert.deepEqual(await writeParts(dest, two.parts, { layouts }), { kept: true, recorded: false });
  assert.deepEqual(await writeParts(dest, two.parts, { layouts }), { kept: true, recorded: true });
  assert.deepEqual(await leftovers(), []);
});

void test('a cached part that does not match its digest: evicted, DamagedSegment, the destination as it was', async () => {
  const dest = join(dir, 'damaged.img');
  await writeFile(dest, 'the previous output');
  const { parts } = await initrd('third');
  const cached = parts.parts[0] as InitrdPart;
  const bytes = await readFile(cached.path);
  bytes[bytes.length - 1] = 0;
  await writeFile(cached.path, bytes);
  const evicted: string[] = [];
  await assert.rejects(
    writeParts(dest, parts, { evict: (key) => Promise.resolve(void evicted.push(key)) }),
    (err: unknown) => err instanceof DamagedSegment && /key-a/.test(err.message),
  );
  assert.deepEqual(evicted, ['key-a']);
  assert.equal(await readFile(dest, 'utf8'), 'the previous output');
  assert.deepEqual(await leftovers(), []);
});
