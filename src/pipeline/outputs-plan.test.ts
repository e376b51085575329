import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildOptions, type BuildOptions } from './options.ts';
import { planOutputs } from './outputs-plan.ts';

const opts = (o: Partial<BuildOptions> = {}): BuildOptions => buildOptions({ arch: 'amd64', ...o });

void test('formats: --format, else outputs:, else kernel+initrd (tar with -o); the given default name', () => {
  const p = planOutputs('b', opts({}), {});
  assert.deepEqual([p.formats.map((f) => f.name), p.base], [['kernel+initrd'], 'b']);
  assert.deepEqual(
    planOutputs('moby', opts({ dir: 'out' }), { outputs: [{ format: 'tar' }, { format: 'docker' }] }).formats.map(
      (f) => f.name,
    ),
    ['tar', 'docker'],
  );
  assert.equal(planOutputs('moby', opts({ dir: 'out' }), {}).base, 'out/moby');
  const o = planOutputs('x', opts({ output: '-' }), {});
  assert.deepEqual([o.formats.map((f) => f.name), o.streamTo], [['tar'], '-']);
});

void test('-o rules and unknown formats are usage errors (exit code 2)', () => {
  assert.throws(() => planOutputs('x', opts({ output: 'f.tar', format: ['tar', 'docker'] }), {}), {
    exitCode: 2,
    message: 'Cannot write tar, docker to -o: only one format, tar or docker, can go to a single file or stdout',
  });
  assert.throws(() => planOutputs('x', opts({ output: 'f.tar', name: 'n' }), {}), {
    exitCode: 2,
    message: 'Cannot use -o with --name or --dir: -o names the output file itself',
  });
  assert.throws(() => planOutputs('x', opts({ format: ['kernel+initrd', 'nope'] }), {}), {
    exitCode: 2,
    message: 'Cannot build format "nope": unknown format',
  });
});

void test('--size: <n>M, <n>G, bare <n> = GiB', async () => {
  const { parseSize } = await import('./size.ts');
  assert.deepEqual([parseSize('1024M'), parseSize('2G'), parseSize('3')], [2 ** 30, 2 * 2 ** 30, 3 * 2 ** 30]);
  assert.throws(() => parseSize('1T'), {
    exitCode: 2,
    message: 'Invalid --size "1T": expected <n>M, <n>G or <n> (GiB), e.g. 1024M',
  });
});

void test('arm64: the EFI formats, tar and kernel+initrd are planned; each BIOS format is refused naming the EFI ones', () => {
  const arm = opts({
    arch: 'arm64',
    format: [
      'kernel+initrd',
      'tar-kernel-initrd',
      'tar',
      'docker',
      'iso-efi',
      'iso-efi-initrd',
      'raw-efi',
      'qcow2-efi',
      'uki',
    ],
  });
  assert.equal(planOutputs('x', arm, {}).formats.length, 9);
  for (const bios of ['iso-bios', 'raw-bios', 'qcow2-bios', 'vhd', 'dynamic-vhd', 'vmdk', 'gcp', 'aws']) {
    assert.throws(() => planOutputs('x', opts({ arch: 'arm64', format: [bios] }), {}), {
      exitCode: 2,
      message: `Cannot build format "${bios}" for arm64: it boots with a PC BIOS loader and supports amd64 only; for arm64 use an EFI format: iso-efi, iso-efi-initrd, raw-efi, qcow2-efi, uki`,
    });
  }
  assert.throws(() => planOutputs('x', opts({ arch: 'riscv64', format: ['uki'] }), {}), {
    exitCode: 2,
    message: 'Cannot build format "uki" for riscv64: mobyts has EFI loaders for amd64, arm64 only',
  });
});
