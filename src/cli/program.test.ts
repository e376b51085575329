import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandWord } from './program.ts';
import { versionIn } from './commands/version.ts';

void test('commandWord: the command argv runs, past the global options and their values', () => {
  assert.equal(commandWord(['build', '-f', 'tar', 'x.yml']), 'build');
  assert.equal(commandWord(['-v', '2', 'validate', 'x.yml']), 'validate');
  assert.equal(commandWord(['-q', '--progress', 'plain', 'cache', 'ls']), 'cache');
  assert.equal(commandWord(['--progress=json', 'pkg', 'build', 'p']), 'pkg');
  assert.equal(commandWord(['help', 'run']), 'run');
  assert.equal(commandWord(['--version']), undefined);
  assert.equal(commandWord(['--help']), undefined);
  assert.equal(commandWord(['--', 'build']), undefined);
  assert.equal(commandWord([]), undefined);
});

void test('versionIn: the version a tool prints, in the shapes the host tools print it', () => {
  assert.equal(versionIn('xorriso 1.5.4 : RockRidge filesystem manipulator, libburnia project.'), '1.5.4');
  assert.equal(versionIn('*** LZ4 command line interface 64-bits v1.9.4, by Yann Collet ***'), '1.9.4');
  assert.equal(versionIn('grub-mkimage (GRUB) 2.06-13+deb12u2'), '2.06-13+deb12u2');
  assert.equal(versionIn('mkfs.fat 4.2 (2021-01-31)'), '4.2');
  assert.equal(versionIn('QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18)'), '7.2.22');
  assert.equal(versionIn('usage: [options] FILE DIRECTORY'), undefined);
});
