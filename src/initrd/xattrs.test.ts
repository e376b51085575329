import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeCapability, describeXattrs } from './xattrs.ts';

/** struct vfs_cap_data: magic_etc, then (permitted, inheritable) low words, then high words (revisions 2, 3). */
function capData(revision: number, effective: boolean, permitted: bigint, inheritable: bigint): Buffer {
  const b = Buffer.alloc(revision === 1 ? 12 : revision === 2 ? 20 : 24);
  b.writeUInt32LE(((revision << 24) | (effective ? 1 : 0)) >>> 0, 0);
  b.writeUInt32LE(Number(permitted & 0xffffffffn), 4);
  b.writeUInt32LE(Number(inheritable & 0xffffffffn), 8);
  if (revision > 1) {
    b.writeUInt32LE(Number(permitted >> 32n), 12);
    b.writeUInt32LE(Number(inheritable >> 32n), 16);
  }
  return b;
}

void test('capability sets are named as getcap prints them', () => {
  assert.equal(describeCapability(capData(2, true, 1n << 13n, 0n)), 'cap_net_raw=ep');
  assert.equal(
    describeCapability(capData(3, false, (1n << 10n) | (1n << 12n), 0n)),
    'cap_net_bind_service,cap_net_admin=p',
  );
  assert.equal(
    describeCapability(capData(2, true, (1n << 21n) | (1n << 39n), 1n << 21n)),
    'cap_sys_admin=eip cap_bpf=ep',
  );
  assert.equal(describeCapability(capData(1, false, 0n, 1n)), 'cap_chown=i');
  assert.equal(describeCapability(Buffer.from([1, 0, 0, 2])), undefined);
  assert.equal(describeCapability(Buffer.alloc(20)), undefined);
});

void test('every xattr of a header is listed; other PAX records are not', () => {
  assert.deepEqual(
    describeXattrs([
      ['path', Buffer.from('x')],
      ['SCHILY.xattr.user.a', Buffer.from('1')],
      ['SCHILY.xattr.security.capability', capData(2, true, 1n << 13n, 0n)],
    ]),
    ['user.a', 'cap_net_raw=ep'],
  );
  assert.deepEqual(describeXattrs(undefined), []);
});
