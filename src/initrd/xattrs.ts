/**
 * Naming what an initrd loses: newc has no extended attributes, so every `SCHILY.xattr.*` record of a file
 * is dropped; the warning names the files and, for `security.capability`, the capabilities themselves (as
 * getcap prints them), so a user knows `ping` will lack `cap_net_raw` in the guest.
 */

/** Linux capability names by bit number (include/uapi/linux/capability.h). */
const CAPS = [
  'chown',
  'dac_override',
  'dac_read_search',
  'fowner',
  'fsetid',
  'kill',
  'setgid',
  'setuid',
  'setpcap',
  'linux_immutable',
  'net_bind_service',
  'net_broadcast',
  'net_admin',
  'net_raw',
  'ipc_lock',
  'ipc_owner',
  'sys_module',
  'sys_rawio',
  'sys_chroot',
  'sys_ptrace',
  'sys_pacct',
  'sys_admin',
  'sys_boot',
  'sys_nice',
  'sys_resource',
  'sys_time',
  'sys_tty_config',
  'mknod',
  'lease',
  'audit_write',
  'audit_control',
  'setfcap',
  'mac_override',
  'mac_admin',
  'syslog',
  'wake_alarm',
  'block_suspend',
  'audit_read',
  'perfmon',
  'bpf',
  'checkpoint_restore',
];

const XATTR = 'SCHILY.xattr.';

function bits(lo: number, hi: number): string[] {
  const out: string[] = [];
  for (let b = 0; b < 64; b++) {
    const word = b < 32 ? lo : hi;
    if ((word >>> (b % 32)) & 1) out.push(`cap_${CAPS[b] ?? String(b)}`);
  }
  return out;
}

/**
 * A `security.capability` value (struct vfs_cap_data, revisions 1–3) in getcap's notation: `cap_net_raw=ep`,
 * `cap_a,cap_b=p cap_c=i`; undefined when the value is not a capability set.
 */
export function describeCapability(v: Buffer): string | undefined {
  if (v.length < 12) return undefined;
  const magic = v.readUInt32LE(0);
  const revision = magic >>> 24;
  const wide = revision === 2 || revision === 3;
  if (!(revision === 1 || wide) || (wide && v.length < 20)) return undefined;
  const permitted = bits(v.readUInt32LE(4), wide ? v.readUInt32LE(12) : 0);
  const inheritable = bits(v.readUInt32LE(8), wide ? v.readUInt32LE(16) : 0);
  const e = (magic & 1) === 1 ? 'e' : '';
  const both = permitted.filter((c) => inheritable.includes(c));
  const parts = [
    [both, `${e}ip`],
    [permitted.filter((c) => !both.includes(c)), `${e}p`],
    [inheritable.filter((c) => !both.includes(c)), 'i'],
  ] as const;
  const text = parts
    .filter(([caps]) => caps.length > 0)
    .map(([caps, flags]) => `${caps.join(',')}=${flags}`)
    .join(' ');
  return text === '' ? '=' : text;
}

/** What a header's xattrs are, for the warning: `cap_net_raw=ep`, `user.k`, …; [] when it has none. */
export function describeXattrs(pax: ReadonlyArray<readonly [string, Buffer]> | undefined): string[] {
  const out: string[] = [];
  for (const [k, v] of pax ?? []) {
    if (!k.startsWith(XATTR)) continue;
    const name = k.slice(XATTR.length);
    out.push(name === 'security.capability' ? (describeCapability(v) ?? name) : name);
  }
  return out;
}

/** A file whose xattrs an image could not hold, with what they were (`describeXattrs`). */
export interface DroppedXattrs {
  name: string;
  what: string[];
}

/** Files named in a dropped-xattrs warning; the rest are counted. */
export const DROPPED_SHOWN = 20;

/**
 * The file list of a dropped-xattrs warning: `N file(s): "usr/bin/ping" (cap_net_raw=ep), …, and K more`,
 * the first DROPPED_SHOWN by name (as the initrd's warning names them, docs/compat.md).
 */
export function droppedXattrsList(count: number, shown: readonly DroppedXattrs[]): string {
  const named = shown.slice(0, DROPPED_SHOWN).map((l) => `"${l.name}" (${l.what.join('; ')})`);
  const more = count > named.length ? `, and ${count - named.length} more` : '';
  return `${count} file(s): ${named.join(', ')}${more}`;
}
