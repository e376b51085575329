import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entryStreamOf } from './streams.ts';
import { cleanName, safeEntries } from './safe-path.ts';
import type { TarEntry, TarHeader } from './entry.ts';
import { recordingReporter, silentReporter } from '../util/reporter.ts';

void test('cleanName table', () => {
  const ok: Array<[string, string]> = [
    ['./etc/passwd', 'etc/passwd'],
    ['/etc//passwd/', 'etc/passwd'],
    ['a/./b/../c', 'a/c'],
    ['./', ''],
    ['usr/lib/', 'usr/lib'],
    ['a/b/..', 'a'],
  ];
  for (const [raw, clean] of ok) assert.equal(cleanName(raw), clean, raw);
  for (const raw of ['../etc/passwd', 'a/../../b', '/..', './../x', 'a\0b']) {
    assert.throws(() => cleanName(raw, 'img layer 1'), { code: 'UNSAFE_CONTENT' }, raw);
  }
  assert.throws(() => cleanName('a/../../b', 'alpine layer 2'), {
    message: 'Refusing unsafe content in "alpine layer 2": "a/../../b" escapes the root with ".."',
  });
});

const h = (name: string, type: TarHeader['type'], linkname?: string): TarEntry => ({
  header: {
    name,
    type,
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtime: 0,
    size: 0,
    ...(linkname === undefined ? {} : { linkname }),
  },
});

async function run(entries: TarEntry[]): Promise<string[]> {
  const out: string[] = [];
  for await (const e of safeEntries(entryStreamOf(entries), { subject: 'img', reporter: silentReporter }))
    out.push(e.header.name);
  return out;
}

void test('malicious streams are rejected, naming the path', async () => {
  const cases: Array<[string, TarEntry[], RegExp]> = [
    [
      'write through a symlink',
      [h('etc', 'symlink', '/host/etc'), h('etc/passwd', 'file')],
      /"etc\/passwd" would be written through the symlink "etc"/,
    ],
    [
      'write through a nested symlink',
      [h('a', 'directory'), h('a/b', 'symlink', '../../..'), h('a/b/c/d', 'file')],
      /through the symlink "a\/b"/,
    ],
    [
      'symlink after children',
      [h('lib/x', 'file'), h('lib', 'symlink', '/')],
      /"lib" is a symlink but earlier entries were written below it/,
    ],
    [
      'hardlink through a symlink',
      [h('s', 'symlink', '/'), h('l', 'link', 's/etc/shadow')],
      /"l" is a hardlink through the symlink "s"/,
    ],
    [
      'dangling hardlink',
      [h('l', 'link', 'nothing')],
      /"l" is a hardlink to "nothing", which is not earlier in the archive/,
    ],
    ['hardlink to a directory', [h('d', 'directory'), h('l', 'link', 'd')], /hardlink to the directory "d"/],
  ];
  for (const [what, entries, re] of cases) await assert.rejects(run(entries), re, what);
});

void test('outward symlinks are kept; devices dropped with one warning; fifos kept', async () => {
  assert.deepEqual(await run([h('bin', 'symlink', '/usr/bin'), h('f', 'file'), h('l', 'link', 'f'), h('p', 'fifo')]), [
    'bin',
    'f',
    'l',
    'p',
  ]);
  const reporter = recordingReporter();
  const out: string[] = [];
  const entries = [h('dev/null', 'character-device'), h('dev/sda', 'block-device'), h('ok', 'file')];
  for await (const e of safeEntries(entryStreamOf(entries), { subject: 'img', reporter })) out.push(e.header.name);
  assert.deepEqual(out, ['ok']);
  assert.deepEqual(reporter.events, [
    { type: 'warn', message: 'Dropped 2 device node(s) from "img": images may not create devices' },
  ]);
});
