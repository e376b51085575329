import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsoleWatch, consoleTail } from './console.ts';

void test('markers split across chunks are found, with the time they completed', () => {
  const w = new ConsoleWatch(['onboot done', 'poweroff'], ['Kernel panic']);
  w.push(Buffer.from('\x1b[2Jmobyts-init: onboot do'), 1);
  assert.equal(w.complete, false);
  w.push(Buffer.from('ne\r\nmobyts-init: power'), 2);
  w.push(Buffer.from('off\r\n'), 3);
  assert.equal(w.complete, true);
  assert.deepEqual(
    [...w.state.seen],
    [
      ['onboot done', 2],
      ['poweroff', 3],
    ],
  );
  assert.equal(w.state.failed, undefined);
});

void test('a fail marker is reported; no until markers is never complete', () => {
  const w = new ConsoleWatch([], ['Kernel panic']);
  w.push(Buffer.from('[ 1.0] Kernel pa'), 1);
  w.push(Buffer.from('nic - not syncing'), 1);
  assert.equal(w.state.failed, 'Kernel panic');
  assert.equal(w.complete, false);
});

void test('the tail drops escape sequences and carriage returns', () => {
  assert.equal(consoleTail('a\r\n\x1b[0;1mb\r\nc\r\nd', 2), 'c\nd');
});
