/**
 * Byte-exactness against Go's archive/tar as LinuxKit drives it (Format PAX, PAXRecords): go-golden.tar was
 * written by go-tar/main.go (Go 1.19) from go-golden.json. When `go` is installed the golden is re-made and
 * must still match, so the golden cannot drift from what Go writes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { readTar } from '../../src/tar/read.ts';
import { tarBytes } from '../../src/tar/write.ts';
import { entryStreamOf } from '../../src/tar/streams.ts';
import type { EntryStream, TarEntry, TarHeader } from '../../src/tar/entry.ts';

const here = import.meta.dirname;
const golden = readFileSync(join(here, 'go-golden.tar'));

interface Spec {
  name: string;
  type: TarHeader['type'];
  mode: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
  data?: string;
}

function toEntry(s: Spec): TarEntry {
  const data = Buffer.from(s.data ?? '');
  const header: TarHeader = {
    name: s.name === '.' ? '' : s.name,
    type: s.type,
    mode: s.mode,
    uid: s.uid ?? 0,
    gid: s.gid ?? 0,
    mtime: s.mtime,
    size: data.length,
    ...(s.uname ? { uname: s.uname } : {}),
    ...(s.gname ? { gname: s.gname } : {}),
    ...(s.linkname ? { linkname: s.linkname } : {}),
    ...(s.type.endsWith('device') ? { devmajor: s.devmajor ?? 0, devminor: s.devminor ?? 0 } : {}),
    ...(s.pax ? { pax: Object.entries(s.pax).map(([k, v]): [string, Buffer] => [k, Buffer.from(v, 'base64')]) } : {}),
  };
  return s.type === 'file' ? { header, body: Readable.from([data]) } : { header };
}

async function bytesOf(entries: EntryStream): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of tarBytes(entries)) out.push(c);
  return Buffer.concat(out);
}

const specs = JSON.parse(readFileSync(join(here, 'go-golden.json'), 'utf8')) as Spec[];

void test('our writer produces the bytes Go archive/tar writes for LinuxKit-style headers', async () => {
  const ours = await bytesOf(entryStreamOf(specs.map(toEntry)));
  for (let off = 0; off < Math.max(ours.length, golden.length); off += 512) {
    assert.equal(
      ours.subarray(off, off + 512).toString('latin1'),
      golden.subarray(off, off + 512).toString('latin1'),
      `block at ${off}`,
    );
  }
  assert.ok(ours.equals(golden));
});

void test("reading Go's archive and writing it again reproduces it byte for byte (up to the names the reader cleans)", async () => {
  // The reader cleans names, so the two LinuxKit-style `…/tmp/` volume directories at the end come back without
  // their trailing slash; everything before them must be identical.
  const firstSlashed = specs.findIndex((s) => s.name.endsWith('/'));
  const prefix = (await bytesOf(entryStreamOf(specs.slice(0, firstSlashed).map(toEntry)))).length - 1024;
  const again = await bytesOf(readTar(Readable.from([golden])));
  assert.ok(again.subarray(0, prefix).equals(golden.subarray(0, prefix)));
  assert.ok(!again.equals(golden));
});

void test('the golden is what Go writes (re-made when go is installed)', (t) => {
  if (spawnSync('go', ['version']).status !== 0) {
    t.skip('go is not installed; the committed golden is used as is');
    return;
  }
  const home = mkdtempSync(join(tmpdir(), 'mobyts-go-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const env = { ...process.env, HOME: home, GOCACHE: join(home, 'cache'), GO111MODULE: 'off', GOFLAGS: '' };
  const made = execFileSync('go', ['run', join(here, 'go-tar', 'main.go')], {
    input: readFileSync(join(here, 'go-golden.json')),
    env,
  });
  assert.ok(made.equals(golden));
});
