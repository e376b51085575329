import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MobyError } from '../util/errors.ts';
import { TOOLS } from './catalog.ts';
import { findTool, missingTools, preflight } from './preflight.ts';

const dir = mkdtempSync(join(tmpdir(), 'mobyts-preflight-'));
after(() => rmSync(dir, { recursive: true, force: true }));

void test('every missing tool is named in one TOOL_MISSING error with why and install hints, exit 1', () => {
  const err = (() => {
    try {
      preflight([TOOLS.xorriso, TOOLS.qemuImg, TOOLS.xorriso, TOOLS.objcopy], { path: dir });
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(err instanceof MobyError);
  assert.equal(err.code, 'TOOL_MISSING');
  assert.equal(err.exitCode, 1);
  assert.equal(
    err.message,
    'Cannot build the chosen formats: 3 required host tools are missing:\n' +
      '  - xorriso (writes ISO 9660 images); install with Debian/Ubuntu: apt-get install xorriso; Fedora: dnf install xorriso; macOS: brew install xorriso\n' +
      '  - qemu-img (converts the raw disk to qcow2/vhd/vmdk); install with Debian/Ubuntu: apt-get install qemu-utils; Fedora: dnf install qemu-img; macOS: brew install qemu\n' +
      '  - objcopy (adds kernel, initrd and cmdline sections to the EFI stub); install with Debian/Ubuntu: apt-get install binutils; Fedora: dnf install binutils; macOS: brew install binutils',
  );
  assert.equal(err.hint, 'on Debian/Ubuntu: apt-get install xorriso qemu-utils binutils');
});

void test('an executable on the given PATH satisfies the requirement; a non-executable file does not', () => {
  const exe = join(dir, 'xorriso');
  writeFileSync(exe, '#!/bin/sh\n');
  chmodSync(exe, 0o644);
  assert.deepEqual(
    missingTools([TOOLS.xorriso], { path: dir }).map((t) => t.command),
    ['xorriso'],
  );
  chmodSync(exe, 0o755);
  assert.equal(findTool('xorriso', `/nonexistent:${dir}`), exe);
  assert.doesNotThrow(() => preflight([TOOLS.xorriso], { path: dir }));
});

void test('data files are looked up by absolute path, independent of PATH', () => {
  const present = { command: join(dir, 'isolinux.bin'), why: 'x', install: { debian: 'apt-get install isolinux' } };
  writeFileSync(present.command, '');
  const absent = { ...present, command: join(dir, 'nope.bin') };
  assert.deepEqual(
    missingTools([present, absent], { path: '' }).map((t) => t.command),
    [absent.command],
  );
});
