// `mobyts run qemu REF`: outputs pushed to the REAL registry with `mobyts push`, fetched and booted under TCG.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO, testKernel } from '../helpers/kernel.ts';
import { makeInitrd, tinyRoot } from '../helpers/qemu.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'mobyts-runremote-'));
const tmp = join(dir, 'tmp');
let reg: TestRegistry;

async function mobyts(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [join(REPO, 'bin/mobyts.js'), ...args], {
      maxBuffer: 16 << 20,
      env: { ...process.env, TMPDIR: tmp },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

before(async () => {
  reg = await startRegistry();
  const prefix = join(dir, 'tiny');
  tinyRoot(join(dir, 'root'), 'echo REMOTE-BOOT-MARKER; poweroff -f');
  makeInitrd(join(dir, 'root'), `${prefix}-initrd.img`);
  copyFileSync(testKernel().vmlinux, `${prefix}-kernel`);
  writeFileSync(`${prefix}-cmdline`, 'console=ttyS0 quiet panic=-1\n');
  rmSync(join(dir, 'root'), { recursive: true });
  const pushed = await mobyts(['push', `${reg.host}/os/tiny:1`, prefix]);
  assert.equal(pushed.code, 0, pushed.stderr);
  // the local prefix is gone: only the registry has the outputs now
  for (const s of ['-kernel', '-initrd.img', '-cmdline']) rmSync(prefix + s);
  mkdirSync(tmp);
});
after(async () => {
  await reg.stop();
  rmSync(dir, { recursive: true, force: true });
});

void test('run qemu REF pulls the artifact, boots it as a build prefix, and leaves nothing in TMPDIR', async () => {
  const r = await mobyts([
    'run',
    'qemu',
    `${reg.host}/os/tiny:1`,
    '--mem',
    '256',
    '--until',
    'REMOTE-BOOT-MARKER',
    '--timeout',
    '120',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /REMOTE-BOOT-MARKER/);
  assert.match(r.stderr, /Booting .*tiny \(kernel\+initrd\) with qemu/);
  assert.deepEqual(readdirSync(tmp), []);
});

void test("run qemu of a reference the registry does not have fails with the registry's answer", async () => {
  const r = await mobyts(['run', 'qemu', `${reg.host}/os/missing:1`, '--timeout', '10']);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    new RegExp(`^Error: Cannot pull "${reg.host.replace('.', '\\.')}/os/missing:1": manifest unknown`, 'm'),
  );
  assert.deepEqual(readdirSync(tmp), []);
});
