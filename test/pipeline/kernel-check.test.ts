import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startFixture, type Fixture } from './fixture.ts';

let fx: Fixture;
before(async () => {
  fx = await startFixture();
});
after(async () => {
  await fx.cleanup();
});

const SPEC = `kernel:
  image: HOST/test/kernel-noinitrd:1
  cmdline: console=ttyS0
init:
  - HOST/test/init:1
`;

void test('a kernel whose config lacks initramfs support fails kernel+initrd before any output is written', async () => {
  const spec = await fx.spec('noinitrd.yml', SPEC);
  const r = await fx.cli(['-d', 'out-noinitrd', '--no-sbom', spec]);
  assert.equal(r.code, 1);
  const expected =
    "Error: Cannot build kernel+initrd: the kernel's config lacks what it needs\n" +
    `  Kernel "${fx.host}/test/kernel-noinitrd:1" cannot boot format "kernel+initrd": booting an initrd needs CONFIG_BLK_DEV_INITRD=y (not set)\n`;
  assert.ok(r.stderr.includes(expected), r.stderr);
  assert.match(r.stderr, /hint: use a kernel built with these options/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  const left = await readdir(join(fx.dir, 'out-noinitrd')).catch(() => []);
  assert.deepEqual(left, []);
});

void test('the same kernel is fine for formats that do not boot it (tar)', async () => {
  const spec = await fx.spec('noinitrd-tar.yml', SPEC);
  const r = await fx.cli(['-f', 'tar', '-d', 'out-tar', '--no-sbom', spec]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await readdir(join(fx.dir, 'out-tar')), ['noinitrd-tar.tar']);
});
