/**
 * arm64 end to end on an amd64 host, no emulation while building: the offline packages built for
 * linux/amd64 + linux/arm64 into one multi-platform index each (arm64 from Debian's arm64 .debs), then
 * `mobyts build --arch arm64 -f kernel+initrd examples/hello.yml` and `mobyts run qemu --arch arm64` (the real
 * CLI) booting it with qemu-system-aarch64 under TCG: onboot, the getty service and onshutdown at poweroff.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { buffer } from 'node:stream/consumers';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { packageInfo } from '../../src/pkg/tag.ts';
import { parseReference } from '../../src/oci/reference.ts';
import type { ImageStore } from '../../src/store/index.ts';
import { assertCleanBoot } from '../e2e/console-checks.ts';
import { REPO } from '../helpers/kernel.ts';
import { buildExamplePackages, EXAMPLE_PACKAGES } from '../helpers/packages.ts';
import { runCli } from './fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'mobyts-arm64-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let store: ImageStore;

before(async () => {
  store = await buildExamplePackages(join(dir, 'cache'), ['amd64', 'arm64']);
});

void test('every example package is one OCI index listing linux/amd64 and linux/arm64 (arm64 binaries inside)', async () => {
  for (const p of EXAMPLE_PACKAGES) {
    const root = await store.getRef(parseReference((await packageInfo(p)).ref).expanded);
    assert.ok(root !== undefined, p);
    const index = JSON.parse((await buffer(await store.openBlob(root.digest, root.size))).toString()) as { mediaType: string; manifests: Array<{ platform: unknown }> };
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(index.manifests.map((m) => m.platform), [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }]);
  }
});

void test('mobyts build --arch arm64 -f kernel+initrd boots under qemu-system-aarch64: onboot, getty, onshutdown', async () => {
  const out = join(dir, 'out');
  const b = await runCli(['build', '--cache', store.dir, '--arch', 'arm64', '-f', 'kernel+initrd', '-d', out, join(REPO, 'examples/hello.yml')], { home: dir, cwd: dir });
  assert.equal(b.code, 0, b.stderr);
  // An arm64 Image: "ARM\x64" at offset 56 (the kernel's boot protocol header).
  assert.equal(readFileSync(join(out, 'hello-kernel')).subarray(56, 60).toString('latin1'), 'ARM\x64');
  const started = performance.now();
  const r = await runCli([
    'run', 'qemu', join(out, 'hello'), '--arch', 'arm64', '--timeout', '600', '--until', 'mobyts-init: poweroff',
    '--fail', 'Kernel panic', '--fail', 'mobyts-init: switch_root failed', '--fail', 'exit 125 (runtime.json failed)',
  ], { home: dir, cwd: dir });
  const console = r.stdout.toString('latin1');
  assert.equal(r.code, 0, `${r.stderr}\n${console.slice(-3000)}`);
  assertCleanBoot(console, {
    onboot: ['000-hello', '001-uname'], services: ['getty'], onshutdown: ['000-goodbye'],
    output: ['HELLO-FROM-MOBYTS', 'Linux 6.', 'GOODBYE-FROM-MOBYTS'],
  });
  assert.match(console, /Linux [0-9.]+-[0-9]+-arm64/);
  process.stderr.write(`# arm64 kernel+initrd boot to poweroff: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
});
