/** A small OS tree as entries: dirs, files, a 3-member hardlink group, symlinks, a fifo, boot files, xattrs. */
import { Readable } from 'node:stream';
import type { TarEntry, TarHeader } from '../../src/tar/entry.ts';

export const T0 = 1492533000;

function e(h: Partial<TarHeader> & { name: string; type: TarHeader['type'] }, data?: string | Buffer): TarEntry {
  const body = data === undefined ? undefined : Buffer.from(data);
  const header: TarHeader = {
    mode: h.type === 'directory' ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    mtime: T0,
    size: body?.length ?? 0,
    ...h,
  };
  return body === undefined ? { header } : { header, body: Readable.from([body]) };
}

export const KERNEL = Buffer.from('MZ fake kernel bytes');

export function osEntries(): TarEntry[] {
  return [
    e({ name: 'boot', type: 'directory' }),
    e({ name: 'boot/cmdline', type: 'file' }, 'console=ttyS0'),
    e({ name: 'boot/kernel', type: 'file' }, KERNEL),
    e({ name: 'boot/System.map', type: 'file' }, 'ffffffff t _stext'),
    e({ name: 'bin', type: 'directory' }),
    e({ name: 'bin/busybox', type: 'file', mode: 0o755 }, 'BUSYBOX'),
    e({ name: 'bin/sh', type: 'symlink', mode: 0o777, linkname: '/bin/busybox' }),
    e(
      {
        name: 'bin/ping',
        type: 'file',
        mode: 0o4755,
        pax: [['SCHILY.xattr.security.capability', Buffer.from([1, 0, 0, 2])]],
      },
      'PING',
    ),
    e({ name: 'usr', type: 'directory' }),
    e({ name: 'usr/bin', type: 'directory', uid: 5, gid: 6 }),
    e({ name: 'usr/bin/git', type: 'file', mode: 0o755 }, 'GIT!'),
    e({ name: 'usr/bin/git-receive-pack', type: 'link', mode: 0o755, linkname: 'usr/bin/git' }),
    e({ name: 'usr/bin/git-upload-archive', type: 'link', mode: 0o755, linkname: 'usr/bin/git' }),
    e({ name: 'run', type: 'directory', mode: 0o1777 }),
    e({ name: 'run/fifo', type: 'fifo', mode: 0o600 }),
    e({ name: 'etc', type: 'directory' }),
    e({ name: 'etc/hosts', type: 'file', mtime: 0 }, '127.0.0.1 localhost\n'),
  ];
}
