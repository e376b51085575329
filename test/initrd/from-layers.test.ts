/** Layers → flatten → initrd: what GNU cpio sees after whiteouts, opaque dirs and a re-homed hardlink. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flattenImage } from '../../src/image/flatten.ts';
import { openLayoutImage } from '../../src/image/layout-source.ts';
import { writeInitrd } from '../../src/initrd/initrd.ts';
import { recordingReporter } from '../../src/util/reporter.ts';
import { writeLayout } from '../image/layout-fixture.ts';

void test('an image flattened into an initrd lists as the merged filesystem', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mobyts-layers-initrd-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await writeLayout(
    join(dir, 'layout'),
    'example.com/os:1',
    [
      [
        { name: 'etc' },
        { name: 'etc/old.conf', data: 'old' },
        { name: 'opt' },
        { name: 'opt/junk', data: 'j' },
        { name: 'usr' },
        { name: 'usr/bin' },
        { name: 'usr/bin/a', data: 'AAAA', mode: 0o755 },
        { name: 'usr/bin/b', type: 'link', linkname: 'usr/bin/a' },
        { name: 'usr/bin/c', type: 'link', linkname: 'usr/bin/a' },
      ],
      [
        { name: 'etc/.wh.old.conf', data: '' },
        { name: 'opt/.wh..wh..opq', data: '' },
        { name: 'opt/new', data: 'n' },
        { name: 'usr/bin/.wh.a', data: '' },
        { name: 'bin' },
        {
          name: 'bin/ping',
          data: 'P',
          mode: 0o755,
          pax: [['SCHILY.xattr.security.capability', Buffer.from([1, 0, 0, 2])]],
        },
      ],
    ],
    'zstd',
  );
  const image = await openLayoutImage(join(dir, 'layout'), 'example.com/os:1', { os: 'linux', architecture: 'amd64' });
  const reporter = recordingReporter();
  const file = join(dir, 'initrd.img');
  await writeInitrd(flattenImage(image, { reporter }), {
    compress: 'gzip',
    out: createWriteStream(file),
    reporter,
  });
  const listing = execFileSync('sh', ['-c', `gzip -dc "${file}" | cpio -itvn --quiet`], {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC' },
  });
  const rows = listing
    .trim()
    .split('\n')
    .map((l) => l.replace(/ +/g, ' ').split(' '))
    .map((f) => `${f[0]} ${f[1]} ${f[4]} ${f.slice(8).join(' ')}`);
  // top layer first; a deleted → b becomes a copy of the old a, c a hardlink to b (one inode, nlink 2)
  assert.deepEqual(rows, [
    '-rw-r--r-- 1 1 opt/new',
    'drwxr-xr-x 2 0 bin',
    '-rwxr-xr-x 1 1 bin/ping',
    'drwxr-xr-x 2 0 etc',
    'drwxr-xr-x 2 0 opt',
    'drwxr-xr-x 2 0 usr',
    'drwxr-xr-x 2 0 usr/bin',
    '-rwxr-xr-x 2 4 usr/bin/b',
    '-rwxr-xr-x 2 0 usr/bin/c',
  ]);
  assert.deepEqual(
    reporter.events.map((e) => e.type),
    ['warn'],
  );
});
