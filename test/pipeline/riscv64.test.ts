/**
 * riscv64 without a Debian riscv64 kernel package or loaders: a package holding a given riscv64 kernel Image
 * (built with pkg build for linux/riscv64) becomes `tar` and `kernel+initrd` with `--arch riscv64`; the EFI
 * and BIOS formats and `run qemu --arch riscv64` are refused with usage errors (docs/formats.md#arm64).
 */
import assert from 'node:assert/strict';
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { buildPackage } from '../../src/pkg/build.ts';
import { openStore } from '../../src/store/index.ts';
import { readTar } from '../../src/tar/read.ts';
import { silentReporter } from '../../src/util/reporter.ts';
import { runCli } from './fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'mobyts-riscv64-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const cache = join(dir, 'cache');
const spec = join(dir, 'os.yml');
// A riscv64 Image header: "RISCV\0\0\0" at 48, "RSC\x05" at 56 (Documentation/arch/riscv/boot-image-header.rst).
const image = Buffer.alloc(4096, 0x5a);
image.write('RISCV\0\0\0', 48, 'latin1');
image.write('RSC\x05', 56, 'latin1');

before(async () => {
  const pkg = join(dir, 'rv-kernel');
  mkdirSync(join(pkg, 'contents'), { recursive: true });
  writeFileSync(join(pkg, 'build.yml'), 'image: rv-kernel\norg: test\narches: [riscv64]\ncontents: ./contents\n');
  writeFileSync(join(pkg, 'contents', 'kernel'), image);
  await buildPackage(pkg, {
    store: await openStore(cache),
    archs: ['riscv64'],
    force: false,
    sourceDateEpoch: 1492533000,
    reporter: silentReporter,
  });
  writeFileSync(
    spec,
    'kernel:\n  image: "@pkg:./rv-kernel"\n  cmdline: "console=ttyS0"\n  tar: none\nfiles:\n  - path: etc/hello\n    contents: "riscv64\\n"\n',
  );
});

void test('--arch riscv64 builds tar and kernel+initrd from the given kernel image', async () => {
  const out = join(dir, 'out');
  const r = await runCli(
    ['build', '--cache', cache, '--arch', 'riscv64', '-f', 'tar,kernel+initrd', '--no-sbom', '-d', out, spec],
    { home: dir, cwd: dir },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.ok(readFileSync(join(out, 'os-kernel')).equals(image));
  assert.equal(readFileSync(join(out, 'os-cmdline'), 'utf8'), 'console=ttyS0');
  assert.match(gunzipSync(readFileSync(join(out, 'os-initrd.img'))).toString('latin1'), /etc\/hello[\s\S]*riscv64\n/);
  const names: string[] = [];
  for await (const e of readTar(createReadStream(join(out, 'os.tar')))) {
    names.push(e.header.name);
    e.body?.resume();
  }
  assert.ok(names.includes('boot/kernel') && names.includes('etc/hello'), names.join(' '));
});

void test('--arch riscv64 refuses the EFI and BIOS formats, and run qemu refuses the arch', async () => {
  const efi = await runCli(
    ['build', '--cache', cache, '--arch', 'riscv64', '-f', 'raw-efi', '-d', join(dir, 'no'), spec],
    { home: dir, cwd: dir },
  );
  assert.equal(efi.code, 2);
  assert.match(efi.stderr, /Cannot build format "raw-efi" for riscv64: mobyts has EFI loaders for amd64, arm64 only/);
  const bios = await runCli(
    ['build', '--cache', cache, '--arch', 'riscv64', '-f', 'iso-bios', '-d', join(dir, 'no'), spec],
    { home: dir, cwd: dir },
  );
  assert.equal(bios.code, 2);
  assert.match(
    bios.stderr,
    /Cannot build format "iso-bios" for riscv64: it boots with a PC BIOS loader and supports amd64 only\n/,
  );
  const run = await runCli(['run', 'qemu', join(dir, 'out', 'os'), '--arch', 'riscv64', '--timeout', '5'], {
    home: dir,
    cwd: dir,
  });
  assert.equal(run.code, 2);
  assert.match(run.stderr, /Cannot boot for riscv64: mobyts run qemu knows the machines of amd64, arm64 only/);
});
