import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metadataCommands } from './iso-image.ts';
import type { StagedEntry } from './stage-rootfs.ts';

const entry = (path: string, type: StagedEntry['type'], mode: number, uid = 0, gid = 0, onDisk = true): StagedEntry =>
  ({ path, type, mode, uid, gid, devmajor: 0, devminor: 0, onDisk });

// Regression: the ISO took the staged copies' modes, so a build under umask 077 wrote different bytes.
void test('every file and directory gets a fixed mode before the tar modes, whatever the builder umask', () => {
  assert.deepEqual(metadataCommands([]), ['-chown_r 0 / --', '-chgrp_r 0 / --', '-find / -type d -exec chmod 0755 --', '-find / -type f -exec chmod 0644 --']);
});

void test('tar modes that differ from the fixed ones and non-root owners are applied; symlinks, links and off-disk entries are not', () => {
  const lines = metadataCommands([
    entry('etc', 'directory', 0o755), entry('etc/shadow', 'file', 0o640, 0, 42), entry('bin/sh', 'file', 0o755),
    entry('home/u', 'directory', 0o700, 1000, 100), entry('bin/ln', 'symlink', 0o777), entry('bin/hard', 'link', 0o755),
    entry('dev/null', 'character-device', 0o666, 0, 0, false), entry('etc/motd', 'file', 0o644),
  ]).slice(4);
  assert.deepEqual(lines, [
    "-chgrp 42 '/etc/shadow' --", "-chmod 0640 '/etc/shadow' --", "-chmod 0755 '/bin/sh' --",
    "-chown 1000 '/home/u' --", "-chgrp 100 '/home/u' --", "-chmod 0700 '/home/u' --",
  ]);
});
