/**
 * The real CLI's kernel+squashfs, kernel+erofs and kernel+iso with a kernel whose embedded config (IKCONFIG) has
 * their root's drivers built in: exactly LinuxKit's outputs (kernel, image, cmdline; no `N-initrd.img`), the
 * cmdline the spec's unchanged, on amd64 and arm64 (docs/formats.md, the kernel check). The kernel is a stand-in
 * (nothing boots it): the build only reads its config and copies it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { buildPackage } from '../../src/pkg/build.ts';
import { openStore } from '../../src/store/index.ts';
import { silentReporter } from '../../src/util/reporter.ts';
import { runCli } from '../pipeline/fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'mobyts-builtin-root-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const cache = join(dir, 'cache');
const spec = join(dir, 'os.yml');
const CMDLINE = 'console=ttyS0 console=ttyAMA0 quiet';

/** Every root driver kernel+squashfs/erofs/iso need on either arch (kernel-configs/), built in. */
const CONFIG = [
  'CONFIG_BLK_DEV_INITRD=y',
  'CONFIG_RD_GZIP=y',
  'CONFIG_VIRTIO_PCI=y',
  'CONFIG_VIRTIO_BLK=y',
  'CONFIG_SQUASHFS=y',
  'CONFIG_SQUASHFS_ZLIB=y',
  'CONFIG_CRYPTO_CRC32C=y',
  'CONFIG_EROFS_FS=y',
  'CONFIG_SCSI=y',
  'CONFIG_BLK_DEV_SR=y',
  'CONFIG_ISO9660_FS=y',
  'CONFIG_ATA=y',
  'CONFIG_ATA_PIIX=y',
  'CONFIG_SCSI_VIRTIO=y',
  '',
].join('\n');
const kernel = Buffer.concat([
  Buffer.alloc(4096, 0x5a),
  Buffer.from('IKCFG_ST'),
  gzipSync(CONFIG),
  Buffer.from('IKCFG_ED'),
  Buffer.alloc(512),
]);

before(async () => {
  const pkg = join(dir, 'ikconfig-kernel');
  mkdirSync(join(pkg, 'contents'), { recursive: true });
  writeFileSync(
    join(pkg, 'build.yml'),
    'image: ikconfig-kernel\norg: test\narches: [amd64, arm64]\ncontents: ./contents\n',
  );
  writeFileSync(join(pkg, 'contents', 'kernel'), kernel);
  await buildPackage(pkg, {
    store: await openStore(cache),
    archs: ['amd64', 'arm64'],
    force: false,
    sourceDateEpoch: 1492533000,
    reporter: silentReporter,
  });
  writeFileSync(
    spec,
    `kernel:\n  image: "@pkg:./ikconfig-kernel"\n  cmdline: "${CMDLINE}"\n  tar: none\nfiles:\n  - path: etc/hello\n    contents: "hello\\n"\n`,
  );
});

for (const arch of ['amd64', 'arm64']) {
  void test(`${arch}: drivers built in → exactly LinuxKit's kernel+squashfs, kernel+erofs and kernel+iso outputs`, async () => {
    const out = join(dir, `out-${arch}`);
    const r = await runCli(
      [
        'build',
        '--cache',
        cache,
        '--arch',
        arch,
        '-f',
        'kernel+squashfs,kernel+erofs,kernel+iso',
        '--no-sbom',
        '-d',
        out,
        spec,
      ],
      { home: dir, cwd: dir },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(out).sort(), ['os-cmdline', 'os-erofs.img', 'os-kernel', 'os-squashfs.img', 'os.iso']);
    assert.equal(readFileSync(join(out, 'os-cmdline'), 'utf8'), CMDLINE);
    assert.ok(readFileSync(join(out, 'os-kernel')).equals(kernel));
    assert.doesNotMatch(r.stderr, /initrd|cannot boot|no kernel config found/i);
  });
}
