// `mobyts run qemu` as a user runs it: a build prefix with kernel, initrd and cmdline files, judged by markers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO, testKernel } from '../helpers/kernel.ts';
import { makeInitrd, tinyRoot } from '../helpers/qemu.ts';

const run = promisify(execFile);

async function mobyts(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [join(REPO, 'bin/mobyts.js'), ...args], { maxBuffer: 16 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

void describe('mobyts run qemu', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mobyts-runcli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const prefix = join(dir, 'tiny');
  before(() => {
    tinyRoot(join(dir, 'root'), 'echo "args: $(cat /proc/cmdline)"; echo TINY-CLI-MARKER; poweroff -f');
    makeInitrd(join(dir, 'root'), `${prefix}-initrd.img`);
    copyFileSync(testKernel().vmlinux, `${prefix}-kernel`);
    writeFileSync(`${prefix}-cmdline`, 'console=ttyS0 quiet panic=-1\n');
  });

  void test('boots NAME-kernel/-initrd.img/-cmdline, streams the console and exits 0 on the marker', async () => {
    const r = await mobyts([
      'run',
      'qemu',
      prefix,
      '--mem',
      '256',
      '--append',
      'extra.word=1',
      '--until',
      'TINY-CLI-MARKER',
      '--timeout',
      '120',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /args: console=ttyS0 quiet panic=-1 extra.word=1\r?\nTINY-CLI-MARKER/);
    assert.match(r.stderr, /Booting .*tiny \(kernel\+initrd\) with qemu/);
    assert.match(r.stderr, /Boot succeeded in [\d.]+ s/);
  });

  void test('a marker that never appears fails with exit 1 and says which', async () => {
    const r = await mobyts(['run', 'qemu', prefix, '--mem', '256', '--until', 'NEVER-PRINTED', '--timeout', '120']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /args: console=ttyS0 quiet panic=-1\r?\n/);
    assert.match(
      r.stderr,
      /Error: qemu exited with status 0 after [\d.]+ s; never saw "NEVER-PRINTED"\nhint: the console above shows how far the guest got\n$/,
    );
  });

  void test('bad flags are usage errors (exit 2)', async () => {
    const r = await mobyts(['run', 'qemu', prefix, '--mem', 'lots']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'Error: --mem must be a positive integer, got "lots"\n');
  });
});
