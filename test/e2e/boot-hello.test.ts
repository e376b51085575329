// The offline example end to end: build the base packages into a fresh store, resolve examples/hello.yml's
// @pkg: images, lay out its root filesystem, boot the Debian kernel under TCG and judge the serial console.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPkgResolver } from '../../src/pkg/template.ts';
import { bootImage } from '../../src/run/qemu.ts';
import { loadSpecs } from '../../src/spec/load.ts';
import type { MobySpec } from '../../src/spec/types.ts';
import type { ImageStore } from '../../src/store/index.ts';
import { REPO } from '../helpers/kernel.ts';
import { buildExamplePackages } from '../helpers/packages.ts';
import { assemble } from './assemble.ts';
import { assertCleanBoot } from './console-checks.ts';

const FAIL = ['Kernel panic', 'mobyts-init: switch_root failed', 'exit 125 (runtime.json failed)'];

void describe('boot examples/hello.yml', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mobyts-e2e-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let store: ImageStore;
  let spec: MobySpec;

  before(async () => {
    store = await buildExamplePackages(join(dir, 'cache'));
    const loaded = await loadSpecs([join(REPO, 'examples/hello.yml')], {
      resolveTemplate: createPkgResolver({ cache: store.dir }),
    });
    assert.deepEqual(loaded.issues, []);
    spec = loaded.spec;
  });

  async function boot(s: MobySpec, name: string): Promise<string> {
    const out = join(dir, name);
    mkdirSync(out);
    const a = await assemble(s, store, out);
    const r = await bootImage({
      kind: 'kernel',
      kernel: a.kernel,
      initrd: a.initrd,
      cmdline: a.cmdline,
      until: ['mobyts-init: poweroff'],
      fail: FAIL,
      timeoutSeconds: 240,
    });
    assert.equal(r.ok, true, r.failure);
    return r.console;
  }

  void test('every onboot container runs and exits 0, getty starts, onshutdown runs at poweroff', async () => {
    const console = await boot(spec, 'hello');
    assertCleanBoot(console, {
      onboot: ['000-hello', '001-uname'],
      services: ['getty'],
      onshutdown: ['000-goodbye'],
      output: ['HELLO-FROM-MOBYTS', 'Linux 6.', 'GOODBYE-FROM-MOBYTS'],
    });
  });

  void test('with mobyts.poweroff=0 appended the getty service gives a shell on the serial console', async () => {
    const out = join(dir, 'getty');
    mkdirSync(out);
    const cmdline = `${spec.kernel?.cmdline ?? ''} mobyts.poweroff=0`; // the last occurrence wins
    const a = await assemble(
      { ...spec, kernel: { ...spec.kernel, image: spec.kernel?.image ?? '', cmdline }, onboot: [], onshutdown: [] },
      store,
      out,
    );
    const r = await bootImage({
      kind: 'kernel',
      kernel: a.kernel,
      initrd: a.initrd,
      cmdline: a.cmdline,
      fail: FAIL,
      timeoutSeconds: 240,
      script: [{ when: 'mobyts-getty# ', send: 'echo $((6*7))-FROM-GETTY; cat /proc/1/comm\n' }],
      until: ['42-FROM-GETTY'],
    });
    assert.equal(r.ok, true, r.failure);
    assert.doesNotMatch(r.console, /mobyts-init: poweroff/);
  });

  void test('a failing container is a failed boot assertion that shows the console tail', async () => {
    const hello = spec.onboot?.[0]?.image ?? '';
    const failing: MobySpec = {
      ...spec,
      services: [],
      onshutdown: [],
      onboot: [{ name: 'broken', image: hello, command: ['/bin/sh', '-c', 'echo BROKEN-CONTAINER-OUTPUT; exit 3'] }],
    };
    const console = await boot(failing, 'broken');
    assert.throws(
      () => assertCleanBoot(console, { onboot: ['000-broken'], services: [], onshutdown: [], output: [] }),
      (err: Error) => {
        assert.match(
          err.message,
          /^Boot assertion failed: onboot 000-broken exited with status 3\n--- console tail ---\n/,
        );
        assert.match(
          err.message,
          /BROKEN-CONTAINER-OUTPUT\nmobyts-init: onboot 000-broken: exit 3\nmobyts-init: onboot done/,
        );
        return true;
      },
    );
  });
});
