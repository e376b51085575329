/**
 * The build's own kernel+initrd boots: examples/hello.yml (offline packages built into a fresh store) built
 * with the real CLI, booted under QEMU (TCG), onboot, services and onshutdown judged on the serial console.
 * (test/e2e proves the packages and init with a fallback assembly; this proves `mobyts build`'s output.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { bootImage } from '../../src/run/qemu.ts';
import { assertCleanBoot } from '../e2e/console-checks.ts';
import { REPO } from '../helpers/kernel.ts';
import { buildExamplePackages } from '../helpers/packages.ts';
import { runCli } from './fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'mobyts-build-boot-'));
after(() => rmSync(dir, { recursive: true, force: true }));

void test('mobyts build examples/hello.yml boots: every onboot container runs, getty starts, onshutdown runs', async () => {
  const store = await buildExamplePackages(join(dir, 'cache'));
  const r = await runCli(
    ['build', '--cache', store.dir, '--arch', 'amd64', '-d', join(dir, 'out'), join(REPO, 'examples/hello.yml')],
    { home: dir, cwd: dir },
  );
  assert.equal(r.code, 0, r.stderr);
  const base = join(dir, 'out', 'hello');
  const boot = await bootImage({
    kind: 'kernel',
    kernel: `${base}-kernel`,
    initrd: `${base}-initrd.img`,
    cmdline: 'console=ttyS0 quiet panic=-1 mobyts.poweroff=1',
    until: ['mobyts-init: poweroff'],
    fail: ['Kernel panic', 'mobyts-init: switch_root failed', 'exit 125 (runtime.json failed)'],
    timeoutSeconds: 240,
  });
  assert.equal(boot.ok, true, boot.failure);
  assertCleanBoot(boot.console, {
    onboot: ['000-hello', '001-uname'],
    services: ['getty'],
    onshutdown: ['000-goodbye'],
    output: ['HELLO-FROM-MOBYTS', 'Linux 6.', 'GOODBYE-FROM-MOBYTS'],
  });
});
