/**
 * The bundle a build writes into its tar is one runc runs as written: build a spec with a readonly service
 * made from a static busybox image, unpack the `tar` output, `runc run` `containers/services/<name>`.
 * (The runtime tests prove config.json variants with runc; this proves the build's tar bundle itself.)
 * Needs root, runc and busybox-static; skipped with the reason otherwise.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildImage, pushImage, type EntrySpec } from '../helpers/images.ts';
import { runcRun, skipReason, tempDir } from '../runtime/runc-helpers.ts';
import { startFixture, type Fixture } from './fixture.ts';

let f: Fixture;
before(async () => {
  f = await startFixture();
});
after(() => f.cleanup());

function busyboxLayer(): EntrySpec[] {
  const links = ['sh', 'echo', 'cat', 'id', 'ls'].map((a): EntrySpec => ({
    type: 'symlink',
    path: `bin/${a}`,
    target: 'busybox',
  }));
  return [
    { type: 'dir', path: 'bin' },
    { type: 'file', path: 'bin/busybox', content: readFileSync('/bin/busybox'), mode: 0o755 },
    ...links,
  ];
}

void test('runc runs a service bundle exactly as the build wrote it into the tar', async (t) => {
  const reason = await skipReason(t);
  if (reason !== undefined) return t.skip(reason);
  await pushImage(
    f.host,
    'test/busybox:1',
    await buildImage({ layers: [{ entries: busyboxLayer() }], config: { Env: ['PATH=/bin'] } }),
  );
  const spec = await f.spec(
    'runc.yml',
    `
services:
  - name: hello
    image: HOST/test/busybox:1
    readonly: true
    uid: hello
    command: ["/bin/sh", "-c", "echo HELLO from $(id -u); cat /etc/hosts | head -n 1; ls /etc"]
`,
  );
  const r = await f.cli(['--no-sbom', '-o', '-', spec]);
  assert.equal(r.code, 0, r.stderr);
  const root = tempDir(t, 'mobyts-build-runc-');
  execFileSync('tar', ['-x', '--numeric-owner', '-C', root], { input: r.stdout, stdio: ['pipe', 'ignore', 'ignore'] });
  const out = await runcRun(t, join(root, 'containers/services/hello'));
  assert.equal(out, 'HELLO from 100\n127.0.0.1       localhost\nhosts\nmtab\nresolv.conf\n');
});
