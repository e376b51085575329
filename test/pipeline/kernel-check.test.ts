import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { buildImage, pushImage } from '../helpers/images.ts';
import { debugBuild, startFixture, type Fixture } from './fixture.ts';

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

/** A kernel carrying its config only inside itself (IKCONFIG), initramfs support but no virtio. */
const IKCONFIG = 'CONFIG_BLK_DEV_INITRD=y\nCONFIG_RD_GZIP=y\n# CONFIG_VIRTIO_PCI is not set\n';
const IKCONFIG_KERNEL = Buffer.concat([
  Buffer.alloc(4096, 0x90),
  Buffer.from('IKCFG_ST'),
  gzipSync(IKCONFIG),
  Buffer.from('IKCFG_ED'),
  Buffer.alloc(512, 0x90),
]);

void test("the kernel's embedded config is read once, then kept in the cache; a damaged or garbage kept answer is read again", async () => {
  const img = await buildImage({
    layers: [{ entries: [{ type: 'file', path: 'kernel', content: IKCONFIG_KERNEL, mode: 0o644 }] }],
  });
  await pushImage(fx.host, 'test/kernel-ikconfig:1', img);
  const spec = await fx.spec(
    'ikconfig.yml',
    `kernel:\n  image: HOST/test/kernel-ikconfig:1\n  cmdline: console=ttyS0\n  tar: none\ninit:\n  - HOST/test/init:1\n`,
  );
  const cache = join(fx.dir, 'cache-ikconfig');
  const build = async (name: string): Promise<{ how: string[]; warnings: string[]; kernel: Buffer }> => {
    const out = join(fx.dir, name);
    const r = await debugBuild(fx, { cache, out, spec, flags: ['--no-sbom'] });
    assert.equal(r.code, 0, r.stderr);
    return {
      how: [...r.stderr.matchAll(/^kernel embedded config: (.*)$/gm)].map((m) => m[1] ?? ''),
      warnings: r.stderr.split('\n').filter((l) => l.startsWith('Warning: ')),
      kernel: await readFile(join(out, 'ikconfig-kernel')),
    };
  };
  const first = await build('out-ik-1');
  assert.deepEqual(first.how, ['read from the kernel (found)']);
  // the config was read: the check names what it lacks rather than saying there is no config
  assert.ok(
    first.warnings.some((w) => w.includes('lacks what `mobyts run qemu` (virtio devices, serial console) needs')),
    first.warnings.join('\n'),
  );
  assert.ok(first.kernel.equals(IKCONFIG_KERNEL));
  // nothing changed: the kernel is not read for its config, the check says the same
  const second = await build('out-ik-2');
  assert.deepEqual(second.how, ['from the cache (found)']);
  assert.deepEqual(second.warnings, first.warnings);
  assert.ok(second.kernel.equals(IKCONFIG_KERNEL));
  // The kept answer is one file of the TOC store (store/image-tocs.ts): its sha256, a newline, its JSON.
  const dir = join(cache, '.mobyts', 'toc');
  const kept: string[] = [];
  for (const n of await readdir(dir)) if ((await readFile(join(dir, n), 'utf8')).includes('"text":')) kept.push(n);
  assert.equal(kept.length, 1, kept.join(' '));
  const file = join(dir, kept[0] ?? '');
  const sealed = (body: string): string => `${createHash('sha256').update(body).digest('hex')}\n${body}`;
  for (const [i, damage] of [
    (t: string) => t.replace('CONFIG_RD_GZIP=y', 'CONFIG_RD_GZIP=n'), // does not match its sha256
    () => sealed('{"text":42}'), // matches, but is not an answer
    () => sealed('[]'),
    () => 'not json at all',
  ].entries()) {
    await writeFile(file, damage(await readFile(file, 'utf8')));
    // each build into a directory of its own: the same build again would stop at once (docs/formats.md#up-to-date)
    const again = await build(`out-ik-3-${i}`);
    assert.deepEqual(again.how, ['read from the kernel (found)']);
    assert.deepEqual(again.warnings, first.warnings);
    assert.deepEqual((await build(`out-ik-4-${i}`)).how, ['from the cache (found)'], 'kept again');
  }
});
