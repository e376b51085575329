/**
 * Fixed content and times of the synthesized parts of the root filesystem (docs/linuxkit-behaviour.md#image-filter,
 * #reproducibility).
 */
import { MobyError } from '../util/errors.ts';

/** LinuxKit's default modification time, 2017-04-18T16:30:00Z (`build/dir.go: defaultModTime`). */
export const LINUXKIT_MTIME = 1492533000;

/**
 * The mtime of every synthesized entry: `SOURCE_DATE_EPOCH` when set (a non-negative integer), else LinuxKit's
 * 1492533000. Throws a USAGE error for a malformed value rather than silently ignoring it.
 */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['SOURCE_DATE_EPOCH'];
  if (raw === undefined || raw === '') return LINUXKIT_MTIME;
  if (!/^\d+$/.test(raw)) {
    throw new MobyError(`Cannot use SOURCE_DATE_EPOCH "${raw}": it is not a whole number of seconds`, {
      code: 'USAGE',
      exitCode: 2,
    });
  }
  return Number(raw);
}

/** The `etc/hosts` every image gets (docs/linuxkit-behaviour.md#image-filter). */
export const HOSTS_TEXT =
  '127.0.0.1       localhost\n::1     localhost ip6-localhost ip6-loopback\nfe00::0 ip6-localnet\n' +
  'ff00::0 ip6-mcastprefix\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n';

/** `etc/resolv.conf` of containers (docs/linuxkit-behaviour.md#image-filter). */
export const RESOLV_TEXT = '\n# no resolv.conf configured\n';

/** `etc/resolv.conf` of init images and volumes: a symlink to the file the dhcp client writes. */
export const RESOLV_LINK = '/run/resolvconf/resolv.conf';

/** Image paths never copied into the root filesystem (docs/linuxkit-behaviour.md#image-filter). */
export const EXCLUDED = new Set(['.dockerenv', 'Dockerfile', 'dev/console', 'dev/pts', 'dev/shm', 'etc/hostname']);

/**
 * The PAX record keys LinuxKit tags every entry with (docs/linuxkit-behaviour.md#image-filter), used by `--input-tar`.
 */
export const PAX_SOURCE = 'LINUXKIT.source';
export const PAX_LOCATION = 'LINUXKIT.location';
