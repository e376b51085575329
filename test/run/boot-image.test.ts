// bootImage against real qemu: a PVH kernel and a tiny busybox initrd whose /init obeys the kernel cmdline.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootImage, type BootOptions } from '../../src/run/qemu.ts';
import { testKernel } from '../helpers/kernel.ts';
import { makeInitrd, tinyRoot } from '../helpers/qemu.ts';

const SCRIPT = `echo TINY-MARKER
case "$(cat /proc/cmdline)" in *tiny.read*) echo TINY-READY; read -r line; echo "GOT:$line" ;; *tiny.fail*) echo TINY-FAIL; sleep 60 ;; *tiny.hang*) sleep 600 ;; esac
echo TINY-END; poweroff -f`;

void describe('bootImage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mobyts-boot-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let base: BootOptions;
  before(() => {
    tinyRoot(join(dir, 'root'), SCRIPT);
    makeInitrd(join(dir, 'root'), join(dir, 'initrd.img'));
    base = {
      kind: 'kernel',
      kernel: testKernel().vmlinux,
      initrd: join(dir, 'initrd.img'),
      mem: 256,
      timeoutSeconds: 60,
    };
  });
  const boot = (append: string, o: Partial<BootOptions>) =>
    bootImage({ ...base, cmdline: `console=ttyS0 quiet panic=-1 ${append}`, ...o });

  void test('succeeds once the until markers appeared, with the time each appeared', async () => {
    const r = await boot('', { until: ['TINY-MARKER'] });
    assert.equal(r.ok, true, r.failure);
    assert.equal(r.end, 'markers');
    assert.ok((r.markers['TINY-MARKER'] ?? 0) > 0 && (r.markers['TINY-MARKER'] ?? 99) <= r.seconds);
    assert.equal(r.failure, '');
  });

  void test('without markers, succeeds when the guest powers off (qemu exits 0)', async () => {
    const r = await boot('', {});
    assert.equal(r.ok, true, r.failure);
    assert.equal(r.end, 'exit');
    assert.equal(r.exitCode, 0);
    assert.match(r.console, /TINY-MARKER[\s\S]*TINY-END/);
  });

  void test('a fail marker fails the boot at once and shows the console tail', async () => {
    const r = await boot('tiny.fail', { until: ['TINY-END'], fail: ['TINY-FAIL'] });
    assert.equal(r.ok, false);
    assert.equal(r.end, 'fail-marker');
    assert.ok(r.seconds < 50, `took ${r.seconds} s`);
    assert.match(
      r.failure,
      /^Boot failed after [\d.]+ s: the console showed "TINY-FAIL"\n--- console tail ---\n[\s\S]*TINY-MARKER\nTINY-FAIL/,
    );
  });

  void test('a guest that never shows the marker times out', async () => {
    const r = await boot('tiny.hang', { until: ['TINY-END'], timeoutSeconds: 30 });
    assert.equal(r.ok, false);
    assert.equal(r.end, 'timeout');
    assert.equal(r.exitCode, null);
    assert.match(
      r.failure,
      /^Boot timed out after [\d.]+ s; never saw "TINY-END"\n--- console tail ---\n[\s\S]*TINY-MARKER/,
    );
  });

  void test('a script types into the serial console when its trigger appears', async () => {
    const r = await boot('tiny.read', {
      script: [{ when: 'TINY-READY', send: 'typed words\n' }],
      until: ['GOT:typed words'],
    });
    assert.equal(r.ok, true, r.failure);
    assert.deepEqual(Object.keys(r.markers), ['GOT:typed words']);
  });

  void test('a missing kernel is reported before qemu starts', async () => {
    await assert.rejects(bootImage({ ...base, kernel: join(dir, 'nope') }), /Cannot boot: ".*nope" does not exist/);
  });
});
