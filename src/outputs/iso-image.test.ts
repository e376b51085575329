import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TarEntry } from '../tar/entry.ts';
import { entryStreamOf } from '../tar/streams.ts';
import { tarBytes } from '../tar/write.ts';
import { runTool } from '../tools/run-tool.ts';
import { makeIso, metadataCommands } from './iso-image.ts';
import { stageRootfs } from './stage-rootfs.ts';
import type { StagedEntry } from './stage-rootfs.ts';
import { ODD_NAMES } from '../../test/helpers/odd-names.ts';

const entry = (
  path: string,
  type: StagedEntry['type'],
  mode: number,
  uid = 0,
  gid = 0,
  onDisk = true,
): StagedEntry => ({ path, type, mode, uid, gid, devmajor: 0, devminor: 0, onDisk });

// Regression: the ISO took the staged copies' modes, so a build under umask 077 wrote different bytes.
void test('every file and directory gets a fixed mode before the tar modes, whatever the builder umask', () => {
  assert.deepEqual(metadataCommands([]), [
    '-iso_rr_pattern off',
    '-chown_r 0 / --',
    '-chgrp_r 0 / --',
    '-find / -type d -exec chmod 0755 --',
    '-find / -type f -exec chmod 0644 --',
  ]);
});

void test('tar modes that differ from the fixed ones and non-root owners are applied, to hardlinks too; symlinks and off-disk entries are not', () => {
  const lines = metadataCommands([
    entry('etc', 'directory', 0o755),
    entry('etc/shadow', 'file', 0o640, 0, 42),
    entry('bin/sh', 'file', 0o755),
    entry('home/u', 'directory', 0o700, 1000, 100),
    entry('bin/ln', 'symlink', 0o777),
    entry('bin/hard', 'link', 0o755),
    entry('dev/null', 'character-device', 0o666, 0, 0, false),
    entry('etc/motd', 'file', 0o644),
  ]).slice(5);
  assert.deepEqual(lines, [
    "-chgrp 42 '/etc/shadow' --",
    "-chmod 0640 '/etc/shadow' --",
    "-chmod 0755 '/bin/sh' --",
    "-chown 1000 '/home/u' --",
    "-chgrp 100 '/home/u' --",
    "-chmod 0700 '/home/u' --",
    "-chmod 0755 '/bin/hard' --",
  ]);
});

async function isoModes(iso: string): Promise<Map<string, string>> {
  const { stdout } = await runTool('xorriso', ['-indev', iso, '-find', '/', '-exec', 'lsdl', '--']);
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^(\S{10})\s+\d+\s+(\d+)\s+(\d+)\s+\d+\s+\w+\s+\d+\s+[\d:]+\s+'(.*)'$/.exec(line);
    if (m !== null) out.set(m[4]!.replaceAll(`'"'"'`, "'"), `${m[1]!} ${m[2]!}:${m[3]!}`);
  }
  return out;
}

// Regression: the per-file -chmod/-chown commands were read as patterns: a setuid `usr/bin/*` made every file
// in usr/bin setuid, and `usr/bin/[` failed the build ("Cannot compile pattern to regular expression").
void test('a real ISO keeps each odd-named file its own mode and owner: no name is read as a pattern or an option', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mobyts-iso [*?] -rf '));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, mode: number, uid = 0): TarEntry => ({
    header: { name, type: 'file', mode, uid, gid: 0, mtime: 0, size: 1 },
    body: Readable.from([Buffer.from('x')]),
  });
  const entries: TarEntry[] = [
    { header: { name: 'usr', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 } },
    { header: { name: 'usr/bin', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 } },
    file('usr/bin/*', 0o4755),
    file('usr/bin/plain', 0o644),
    file('usr/bin/perl', 0o4755, 7),
    {
      header: {
        name: 'usr/bin/perl5',
        type: 'link',
        linkname: 'usr/bin/perl',
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime: 0,
        size: 0,
      },
    },
    ...ODD_NAMES.filter((n) => n !== '*').map((n, i) => file(`usr/bin/${n}`, 0o600 + i, 1000 + i)),
    { header: { name: 'usr/[d]', type: 'directory', mode: 0o700, uid: 0, gid: 0, mtime: 0, size: 0 } },
    file('usr/[d]/f', 0o640),
  ];
  const tar = join(dir, 'fs.tar');
  await pipeline(Readable.from(tarBytes(entryStreamOf(entries))), createWriteStream(tar));
  const staged = await stageRootfs(tar, join(dir, 'root'));
  const iso = join(dir, 'out.iso');
  await makeIso({
    out: iso,
    root: staged.dir,
    volid: 'T',
    sourceDateEpoch: 0,
    entries: staged.entries,
    commandsPath: join(dir, 'cmds'),
    run: {},
  });
  const modes = await isoModes(iso);
  assert.equal(modes.get('/usr/bin/*'), '-rwsr-xr-x 0:0');
  assert.equal(modes.get('/usr/bin/plain'), '-rw-r--r-- 0:0');
  // Regression: a hardlink is its own ISO node and kept the blanket 0644 root:root (Debian's perl5.36.0 was not
  // executable on the ISO); it has its target's owner and mode, whatever its own header says.
  assert.equal(modes.get('/usr/bin/perl'), '-rwsr-xr-x 7:0');
  assert.equal(modes.get('/usr/bin/perl5'), '-rwsr-xr-x 7:0');
  ODD_NAMES.filter((n) => n !== '*').forEach((n, i) => {
    const m = 0o600 + i;
    const rwx = (b: number): string => `${b & 4 ? 'r' : '-'}${b & 2 ? 'w' : '-'}${b & 1 ? 'x' : '-'}`;
    assert.equal(modes.get(`/usr/bin/${n}`), `-${rwx(m >> 6)}${rwx((m >> 3) & 7)}${rwx(m & 7)} ${1000 + i}:0`, n);
  });
  assert.equal(modes.get('/usr/[d]'), 'drwx------ 0:0');
  assert.equal(modes.get('/usr/[d]/f'), '-rw-r----- 0:0');
});
