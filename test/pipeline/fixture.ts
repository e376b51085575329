/**
 * Shared set-up for the build integration tests: the REAL registry (test/helpers/registry.ts) holding
 * generated images, a spec directory, and a runner for the real CLI (`bin/mobyts.js build`) as a child
 * process with a chosen TZ, umask and TMPDIR.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import { buildImage, buildIndex, layerTar, pushImage, type EntrySpec } from '../helpers/images.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

export const REPO = resolve(import.meta.dirname, '../..');
const BIN = join(REPO, 'bin/mobyts.js');

export interface CliResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

export interface RunEnv {
  TZ?: string;
  umask?: string;
  TMPDIR?: string;
  cwd?: string;
  env?: Record<string, string>;
  /** What the command reads on stdin (default: nothing, stdin closed). */
  stdin?: Buffer;
}

/** Runs `mobyts build ARGS` with its own HOME; resolves with exit code and output. */
export function runCli(args: string[], e: RunEnv & { home: string }): Promise<CliResult> {
  const env = {
    PATH: process.env['PATH'] ?? '',
    HOME: e.home,
    TZ: e.TZ ?? 'UTC',
    TMPDIR: e.TMPDIR ?? tmpdir(),
    LANG: 'C',
    ...e.env,
  };
  const child = spawn('sh', ['-c', `umask ${e.umask ?? '022'} && exec "$0" "$@"`, process.execPath, BIN, ...args], {
    env,
    cwd: e.cwd ?? e.home,
  });
  child.stdin.end(e.stdin);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  return new Promise((res, rej) => {
    child.once('error', rej);
    child.once('close', (code) => res({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }));
  });
}

/** The section ids of a build's `initrd segment N (ID): WHAT …` debug lines (`-v 2`), in order. */
export function segmentIds(stderr: string, what: string): string[] {
  return [...stderr.matchAll(new RegExp(`^initrd segment \\d+ \\(([^)]+)\\): ${what}`, 'gm'))].map((m) => m[1] ?? '');
}

export interface DebugBuild {
  cache: string;
  out: string;
  spec: string;
  /** `-f`; default kernel+initrd. */
  formats?: string;
  /** More arguments before the spec (`-n NAME`, `--cache-from REF`, …). */
  flags?: string[];
  env?: RunEnv;
}

/**
 * `mobyts build --cache CACHE -v 2 -f FORMATS --dir OUT [FLAGS] SPEC` from the fixture's directory, with its
 * HOME: the debug lines say, per section, whether it was compressed, reused or downloaded.
 */
export async function debugBuild(f: Pick<Fixture, 'dir'>, b: DebugBuild): Promise<CliResult> {
  await mkdir(b.out, { recursive: true });
  return runCli(
    [
      'build',
      '--cache',
      b.cache,
      '-v',
      '2',
      '-f',
      b.formats ?? 'kernel+initrd',
      '--dir',
      b.out,
      ...(b.flags ?? []),
      b.spec,
    ],
    { cwd: f.dir, home: join(f.dir, 'home'), ...b.env },
  );
}

/**
 * How a fixture spec starts: the fixture's kernel (with a serial console) and its init image; a spec adds its
 * own init images, containers and files below (`f.spec` puts the registry's host for HOST).
 */
export const SPEC_HEAD = `kernel:
  image: HOST/test/kernel:1
  cmdline: "console=ttyS0"
init:
  - HOST/test/init:1
`;

export interface Fixture {
  reg: TestRegistry;
  dir: string;
  host: string;
  cache: string;
  /** Writes a spec into the fixture dir; returns its path. */
  spec(name: string, yaml: string): Promise<string>;
  cli(args: string[], e?: RunEnv): Promise<CliResult>;
  cleanup(): Promise<void>;
}

const MTIME = 1700000000;

/** Stands in for a microcode cpio (its bytes are copied, never parsed). */
export const UCODE = 'UCODE-CPIO-BYTES';

export const KERNEL_TAR: EntrySpec[] = [
  { type: 'dir', path: 'lib', mtime: MTIME },
  { type: 'dir', path: 'lib/modules', mtime: MTIME },
  { type: 'dir', path: 'lib/modules/6.6.1', mtime: MTIME },
  { type: 'file', path: 'lib/modules/6.6.1/modules.dep', content: 'm.ko:\n', mtime: MTIME },
];

/** A modules tar whose kernel config lacks initramfs support (for the kernel check). */
const NO_INITRD_KERNEL_TAR: EntrySpec[] = [
  { type: 'dir', path: 'boot', mtime: MTIME },
  {
    type: 'file',
    path: 'boot/config-6.6.1',
    content: '# CONFIG_BLK_DEV_INITRD is not set\nCONFIG_RD_GZIP=y\n',
    mtime: MTIME,
  },
];

async function pushAll(host: string): Promise<void> {
  const kernelTar = await layerTar(KERNEL_TAR);
  const images: Array<[string, EntrySpec[][], Record<string, unknown>?]> = [
    [
      'test/kernel:1',
      [
        [
          { type: 'file', path: 'kernel', content: 'KERNEL-IMAGE-BYTES', mode: 0o644, mtime: MTIME },
          { type: 'file', path: 'kernel.tar', content: kernelTar, mtime: MTIME },
          { type: 'file', path: 'System.map', content: 'map', mtime: MTIME },
          { type: 'file', path: 'intel-ucode.cpio', content: UCODE, mtime: MTIME },
        ],
      ],
    ],
    [
      'test/kernel-noinitrd:1',
      [
        [
          { type: 'file', path: 'kernel', content: 'KERNEL-IMAGE-BYTES', mode: 0o644, mtime: MTIME },
          { type: 'file', path: 'kernel.tar', content: await layerTar(NO_INITRD_KERNEL_TAR), mtime: MTIME },
        ],
      ],
    ],
    ['test/kernel-gz:1', [[{ type: 'file', path: 'kernel', content: gzipSync('UNCOMPRESSED-VMLINUX'), mtime: MTIME }]]],
    [
      'test/init:1',
      [
        [
          { type: 'dir', path: 'etc', mode: 0o755, mtime: MTIME },
          { type: 'file', path: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n', mtime: MTIME },
          { type: 'dir', path: 'usr', mtime: MTIME },
          { type: 'file', path: 'usr/old', content: 'deleted above', mtime: MTIME },
          { type: 'dir', path: 'lib', mtime: MTIME },
          { type: 'dir', path: 'lib/apk', mtime: MTIME },
          { type: 'dir', path: 'lib/apk/db', mtime: MTIME },
          { type: 'file', path: 'lib/apk/db/installed', content: 'P:init\n', mtime: MTIME },
        ],
        [
          { type: 'whiteout', path: 'usr/old' },
          { type: 'dir', path: 'sbin', mtime: MTIME },
          {
            type: 'file',
            path: 'sbin/init',
            content: '#!/bin/sh\n',
            mode: 0o755,
            mtime: MTIME,
            xattrs: { 'security.capability': Buffer.from('01000002', 'hex') },
          },
          { type: 'hardlink', path: 'sbin/init.hard', target: 'sbin/init' },
          { type: 'file', path: 'etc/hosts', content: 'replaced by the build', mtime: MTIME },
        ],
      ],
    ],
    [
      'test/init2:1',
      [
        [
          { type: 'dir', path: 'etc', mode: 0o700, mtime: MTIME },
          { type: 'file', path: 'etc/passwd', content: 'root:x:0:0:second:/root:/bin/sh\n', mtime: MTIME },
          { type: 'dir', path: 'lib', mtime: MTIME },
          { type: 'dir', path: 'lib/apk', mtime: MTIME },
          { type: 'dir', path: 'lib/apk/db', mtime: MTIME },
          { type: 'file', path: 'lib/apk/db/installed', content: 'P:init2\n', mtime: MTIME },
        ],
      ],
    ],
    [
      'test/svc:1',
      [
        [
          { type: 'dir', path: 'bin', mtime: MTIME },
          { type: 'file', path: 'bin/svc', content: 'svc', mode: 0o755, mtime: MTIME },
          { type: 'dir', path: 'etc', mtime: MTIME },
          { type: 'symlink', path: 'etc/resolv.conf', target: '/run/x' },
        ],
      ],
      { Entrypoint: ['/bin/svc'], Labels: { 'org.mobyproject.config': '{"capabilities": ["CAP_NET_ADMIN"]}' } },
    ],
    ['test/evil:1', [[{ type: 'file', path: '../../../../etc/evil', content: 'escaped', mtime: MTIME }]]],
    [
      'test/data:1',
      [
        [
          { type: 'dir', path: 'data', mtime: MTIME },
          { type: 'file', path: 'data/seed', content: 'seed', mtime: MTIME },
        ],
      ],
    ],
  ];
  const multi = await buildIndex(
    ['amd64', 'arm64'].map((architecture) => ({
      platform: { architecture },
      layers: [{ entries: [{ type: 'file', path: `hello-${architecture}`, content: architecture, mtime: MTIME }] }],
    })),
  );
  await pushImage(host, 'test/multi:1', multi);
  const attested = await buildIndex(
    [
      {
        platform: { architecture: 'amd64' },
        layers: [
          {
            entries: [
              { type: 'dir', path: 'lib' },
              { type: 'file', path: 'lib/ld-musl.so.1', content: 'musl', mtime: MTIME },
            ],
          },
        ],
        sbom: {
          spdxVersion: 'SPDX-2.3',
          SPDXID: 'SPDXRef-DOCUMENT',
          packages: [{ SPDXID: 'SPDXRef-Package-musl', name: 'musl', versionInfo: '1.2.5' }],
          files: [{ SPDXID: 'SPDXRef-File-ld', fileName: '/lib/ld-musl.so.1' }],
        },
      },
    ],
    { attestations: true },
  );
  await pushImage(host, 'test/attested:1', attested);
  for (const [ref, layers, config] of images) {
    const img = await buildImage({
      layers: layers.map((entries) => ({ entries })),
      ...(config === undefined ? {} : { config }),
    });
    await pushImage(host, ref, img);
  }
}

export async function startFixture(): Promise<Fixture> {
  const reg = await startRegistry();
  const dir = await mkdtemp(join(tmpdir(), 'mobyts-build-test-'));
  const cache = join(dir, 'cache');
  await mkdir(join(dir, 'home'));
  await pushAll(reg.host);
  return {
    reg,
    dir,
    host: reg.host,
    cache,
    spec: async (name, yaml) => {
      const p = join(dir, name);
      await writeFile(p, yaml.replaceAll('HOST', reg.host));
      return p;
    },
    cli: (args, e = {}) => runCli(['build', '--cache', cache, ...args], { cwd: dir, ...e, home: join(dir, 'home') }),
    cleanup: async () => {
      await reg.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
