/**
 * A real distribution image through the build (test/helpers/debian.ts: Debian bookworm by mmdebstrap, pushed
 * to the real registry): (1) Debian's nginx as a service whose page another container fetches over loopback,
 * booted under QEMU TCG as kernel+initrd and as raw-efi (OVMF), the capabilities the initrd loses named in the
 * warning and kept by the tar; (2) the image as an init image together with the kernel's lib/modules
 * (LinuxKit #3153): the modules go through its `/lib → usr/lib` symlink and the system boots (Debian's
 * busybox and runc as the userland, the example init's /init beside it: test/helpers/debian.ts
 * initOnlyImage), and beside an init image with real `/bin` and `/lib` directories the build fails with one
 * error naming the first colliding path.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readTarFile } from '../../src/tar/io.ts';
import { bootImage } from '../../src/run/qemu.ts';
import { assertCleanBoot } from '../e2e/console-checks.ts';
import { debianImage, debianRootfs, initOnlyImage } from '../helpers/debian.ts';
import { pushImage } from '../helpers/images.ts';
import { REPO } from '../helpers/kernel.ts';
import { buildExamplePackages } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { runCli } from './fixture.ts';

const rootfs = debianRootfs();
const skip = 'skip' in rootfs ? rootfs.skip : false;
const FETCHED = 'DEBIAN-NGINX-PAGE-FETCHED';
const FAIL = ['Kernel panic', 'mobyts-init: switch_root failed', 'DEBIAN-NGINX-FETCH-FAILED', 'exit 127'];
const PKG = (p: string): string => `"@pkg:${join(REPO, 'examples/packages', p)}"`;

/** usr/bin's names → "mode uid:gid" as `tar -tv` lists them, a hardlink as its target. */
function tarUsrBin(listing: string): Map<string, string> {
  const out = new Map<string, string>();
  const links: Array<[string, string]> = [];
  for (const m of listing.matchAll(
    /^([-hl])(\S{9}) (\d+)\/(\d+) +\d+ \S+ \S+ usr\/bin\/([^/\n]+?)(?: -> .*| link to (.*))?$/gm,
  )) {
    const [, kind, bits, uid, gid, name, target] = m as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
      string?,
    ];
    if (kind === 'h' && target !== undefined) links.push([name, target]);
    else out.set(name, `${kind}${bits} ${uid}:${gid}`);
  }
  for (const [name, target] of links) out.set(name, out.get(target.replace(/^usr\/bin\//, '')) ?? `link to ${target}`);
  return out;
}

/** The same for usr/bin on an ISO, as xorriso lists it (names literal: `-iso_rr_pattern off`). */
function isoUsrBin(iso: string): Map<string, string> {
  const ls = execFileSync('xorriso', ['-indev', iso, '-iso_rr_pattern', 'off', '-lsl', '/usr/bin'], {
    maxBuffer: 1 << 26,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const out = new Map<string, string>();
  for (const m of ls.matchAll(
    /^(\S{10})\s+\d+\s+(\d+)\s+(\d+)\s+\d+\s+\w+\s+\d+\s+[\d:]+\s+'((?:[^']|'"'"')*)'(?: -> '.*')?$/gm,
  ))
    out.set(m[4]!.replaceAll(`'"'"'`, "'"), `${m[1]!} ${m[2]!}:${m[3]!}`);
  return out;
}

void describe('a Debian bookworm image (mmdebstrap) through the build', { skip, timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mobyts-debian-'));
  let reg: TestRegistry;
  let cache: string;
  let image: string;
  let initOnly: string;
  after(async () => {
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  before(async () => {
    reg = await startRegistry();
    cache = (await buildExamplePackages(join(dir, 'cache'))).dir;
    image = `${reg.host}/debian/nginx:bookworm`;
    if (!('skip' in rootfs)) await pushImage(reg.host, 'debian/nginx:bookworm', debianImage(rootfs.tar));
    initOnly = `${reg.host}/mobyts/init-only:1`;
    await pushImage(reg.host, 'mobyts/init-only:1', initOnlyImage());
  });

  function build(name: string, yaml: string, formats: string): Promise<{ code: number | null; stderr: string }> {
    const spec = join(dir, `${name}.yml`);
    writeFileSync(spec, yaml);
    return runCli(['build', '--cache', cache, '--arch', 'amd64', '-f', formats, '-d', join(dir, name), spec], {
      home: dir,
      cwd: dir,
    });
  }

  void test("nginx serves a page another container fetches over loopback: kernel+initrd and raw-efi boot; ping's capability is named as lost and kept in the tar", async () => {
    const spec = `
kernel:
  image: ${PKG('kernel')}
  cmdline: "console=ttyS0 quiet panic=-1"
init:
  - ${PKG('init')}
onboot:
  - name: lo
    image: ${image}
    net: host
    capabilities: [CAP_NET_ADMIN]
    command: ["/bin/busybox", "ip", "link", "set", "lo", "up"]
services:
  - name: nginx
    image: ${image}
    net: host
    capabilities: [CAP_NET_BIND_SERVICE, CAP_CHOWN, CAP_SETUID, CAP_SETGID, CAP_DAC_OVERRIDE]
    command: ["/usr/sbin/nginx", "-g", "daemon off;"]
  - name: fetch
    image: ${image}
    net: host
    command: ["/bin/sh", "-c", "for i in $(seq 1 120); do if busybox wget -q -O- http://127.0.0.1/ | grep -q 'Welcome to nginx'; then echo ${FETCHED}; exit 0; fi; sleep 1; done; echo DEBIAN-NGINX-FETCH-FAILED"]
`;
    const r = await build('nginx', spec, 'tar,kernel+initrd,raw-efi');
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /The initrd cannot hold extended attributes \(newc has none\): dropped them from \d+ file\(s\): .*"containers\/onboot\/000-lo\/lower\/usr\/bin\/ping" \(cap_net_raw=ep\)/,
    );
    const caps: string[] = [];
    for await (const e of readTarFile(join(dir, 'nginx', 'nginx.tar'))) {
      if ((e.header.pax ?? []).some(([k]) => k === 'SCHILY.xattr.security.capability')) caps.push(e.header.name);
      e.body?.resume();
    }
    assert.deepEqual(caps, ['containers/onboot/000-lo/lower/usr/bin/ping']);
    const base = join(dir, 'nginx', 'nginx');
    const initrd = await bootImage({
      kind: 'kernel',
      kernel: `${base}-kernel`,
      initrd: `${base}-initrd.img`,
      cmdline: 'console=ttyS0 quiet panic=-1',
      mem: 2048,
      until: [FETCHED],
      fail: FAIL,
      timeoutSeconds: 400,
    });
    assert.equal(initrd.ok, true, initrd.failure);
    const efi = await bootImage({
      kind: 'disk',
      firmware: 'efi',
      image: `${base}-efi.img`,
      mem: 2048,
      until: [FETCHED],
      fail: FAIL,
      timeoutSeconds: 400,
    });
    assert.equal(efi.ok, true, efi.failure);
  });

  void test("as the init image, the kernel's modules go through its /lib -> usr/lib symlink and the system boots: modprobe finds them, containers run and exit 0", async () => {
    // Debian's busybox, runc and C library are the userland (reached through /bin and /lib, its symlinks); the
    // example init's /init runs on them. The onboot container sees the guest's /lib/modules (a bind, resolved
    // through the symlink) and the overlay module /init loaded with modprobe from there.
    const cmdline = 'console=ttyS0 quiet panic=-1 mobyts.poweroff=1';
    const spec = `
kernel:
  image: ${PKG('kernel')}
  cmdline: "${cmdline}"
init:
  - ${image}
  - ${initOnly}
onboot:
  - name: modules
    image: ${PKG('hello')}
    binds: ["/lib/modules:/host-modules:ro"]
    command: ["/bin/sh", "-c", "test -f /host-modules/$(uname -r)/modules.dep && grep -q '^overlay ' /proc/modules && echo DEBIAN-INIT-MODULES-$(uname -r)-OK"]
services:
  - name: hello
    image: ${PKG('hello')}
onshutdown:
  - name: goodbye
    image: ${PKG('hello')}
    command: ["/bin/echo", "DEBIAN-INIT-GOODBYE"]
`;
    const r = await build('initimg', spec, 'tar,kernel+initrd,iso-efi');
    assert.equal(r.code, 0, r.stderr);
    const listing = execFileSync('tar', ['-tvf', join(dir, 'initimg', 'initimg.tar')], {
      maxBuffer: 1 << 28,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    assert.match(listing, /^lrwxrwxrwx 0\/0 +0 \S+ \S+ lib -> usr\/lib$/m);
    assert.match(listing, /^lrwxrwxrwx 0\/0 +0 \S+ \S+ bin -> usr\/bin$/m);
    assert.match(listing, / usr\/lib\/modules\/[^/]+\/modules\.dep$/m);
    assert.doesNotMatch(listing, / lib\/modules/);
    const base = join(dir, 'initimg', 'initimg');
    // iso-efi (built, not booted): xorriso reads every path literally (coreutils' usr/bin/[ once failed every ISO
    // build; a setuid usr/bin/* made all of usr/bin setuid), and each file of usr/bin, hardlinks included, has
    // the tar's mode and owner.
    const iso = isoUsrBin(`${base}-efi.iso`);
    assert.equal(iso.get('['), '-rwxr-xr-x 0:0');
    assert.equal(iso.get('mount'), '-rwsr-xr-x 0:0');
    assert.deepEqual(iso, tarUsrBin(listing));
    const boot = await bootImage({
      kind: 'kernel',
      kernel: `${base}-kernel`,
      initrd: `${base}-initrd.img`,
      cmdline,
      mem: 2048,
      until: ['mobyts-init: poweroff'],
      waitForExit: true,
      fail: [...FAIL, 'runtime.json failed', 'cannot load module', 'not found'],
      timeoutSeconds: 400,
    });
    assert.equal(boot.ok, true, boot.failure);
    assertCleanBoot(boot.console, {
      onboot: ['000-modules'],
      services: ['hello'],
      onshutdown: ['000-goodbye'],
      output: ['DEBIAN-INIT-MODULES-6.', 'DEBIAN-INIT-GOODBYE'],
    });
  });

  void test('beside an init image with real /bin and /lib directories, the build fails with one error naming the first such path and both images', async () => {
    const r = await build(
      'collide',
      `kernel:\n  image: ${PKG('kernel')}\ninit:\n  - ${PKG('init')}\n  - ${image}\n`,
      'tar',
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^Error: Init images collide on "/bin": "[^"]+" has a directory there, "${image.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" a symlink to "usr/bin"; one of them would be lost`,
        'm',
      ),
    );
    assert.match(r.stderr, /hint: make the init images agree on \/bin/);
    assert.equal(r.stderr.match(/^Error:/gm)?.length, 1, 'one error, the first colliding path');
  });
});
