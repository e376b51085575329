// build --dry-run: the merged, normalised spec as YAML plus the planned output files and the build plan as
// comments; problems set exit code 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { CliContext } from '../cli/context.ts';
import { silentReporter } from '../util/reporter.ts';
import { showIssues } from '../cli/show-issues.ts';
import { runDryRun as runDryRunLoaded } from './dry-run.ts';
import { loadBuildSpecs } from './run.ts';
import { planOutputs, plannedOutputFiles, selectFormats } from './outputs-plan.ts';
import { buildOptions, type BuildOptions } from './options.ts';

function capture(): { ctx: CliContext; out: () => string; err: () => string; code: () => number } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  let code = 0;
  stdout.on('data', (c: Buffer) => {
    o += c.toString();
  });
  stderr.on('data', (c: Buffer) => {
    e += c.toString();
  });
  const ctx: CliContext = {
    stdout,
    stderr,
    signal: new AbortController().signal,
    reporter: silentReporter,
    setExitCode: (c) => {
      code = c;
    },
  };
  return { ctx, out: () => o, err: () => e, code: () => code };
}

/** `build --dry-run` as the CLI action runs it: load, show the problems (exit 1 on errors), print the dry run. */
async function runDryRun(files: string[], o: BuildOptions, ctx: CliContext): Promise<void> {
  const loaded = await loadBuildSpecs(files, o, ctx.signal);
  if (showIssues(loaded, ctx)) ctx.stdout.write(await runDryRunLoaded(files, loaded, o, ctx));
}

const opts = (o: Partial<BuildOptions> = {}): BuildOptions => buildOptions({ arch: 'amd64', dryRun: true, ...o });

void test('prints the merged, expanded spec and the files it would write', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mobyts-dry-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(
    join(dir, 'a.yml'),
    'kernel:\n  image: linuxkit/kernel:6.6.71\n  cmdline: console=ttyS0\ninit: [linuxkit/init:v1]\nvolumes:\n  - name: data\n',
  );
  await writeFile(
    join(dir, 'web.yml'),
    'services:\n  - name: web\n    image: nginx:alpine\n    binds: ["data:/data"]\noutputs:\n  - format: iso-bios\n',
  );
  const c = capture();
  // an empty cache: the plan shows each image unresolved, as the build would pull it
  await runDryRun([join(dir, 'a.yml'), join(dir, 'web.yml')], opts({ dir: 'out', cache: dir }), c.ctx);
  assert.equal(c.err(), '');
  assert.equal(c.code(), 0);
  assert.equal(
    c.out(),
    [
      'kernel:',
      '  image: docker.io/linuxkit/kernel:6.6.71',
      '  cmdline: console=ttyS0',
      'init:',
      '  - docker.io/linuxkit/init:v1',
      'volumes:',
      '  - name: data',
      'services:',
      '  - name: web',
      '    image: docker.io/library/nginx:alpine',
      '    binds:',
      '      - data:/data',
      'outputs:',
      '  - format: iso-bios',
      '# outputs:',
      '#   out/web.iso',
      '# plan (linux/amd64):',
      '#   images:',
      ...['docker.io/linuxkit/kernel:6.6.71', 'docker.io/linuxkit/init:v1', 'docker.io/library/nginx:alpine'].map(
        (ref) =>
          `#     ${ref} (linux/amd64): not in the cache: the build pulls it (--pull resolves it now); trust=none`,
      ),
      '#   kernel: docker.io/linuxkit/kernel:6.6.71 cmdline "console=ttyS0"',
      '#   init: docker.io/linuxkit/init:v1',
      '#   volumes: data',
      '#   services: web (docker.io/library/nginx:alpine)',
      '#   sbom: sbom.spdx.json',
      '',
    ].join('\n'),
  );
});

void test('spec problems go to stderr and set exit code 1; nothing on stdout', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mobyts-dry-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.yml');
  await writeFile(file, 'onboot:\n  - name: x\n    image: alpine\n    capabilities: [CAP_NET_ADMN]\n');
  const c = capture();
  await runDryRun([file], opts(), c.ctx);
  assert.equal(c.out(), '');
  assert.equal(c.code(), 1);
  assert.equal(
    c.err(),
    `${file}:4:20: onboot[0].capabilities[0]: unknown capability "CAP_NET_ADMN" (did you mean "CAP_NET_ADMIN"?)\n1 problem in ${file}\n`,
  );
});

void test('format selection and output files follow linuxkit build', () => {
  assert.deepEqual(selectFormats(opts(), {}), ['kernel+initrd']);
  assert.deepEqual(selectFormats(opts({ output: '-' }), {}), ['tar']);
  assert.deepEqual(selectFormats(opts(), { outputs: [{ format: 'iso-efi' }] }), ['iso-efi']);
  assert.deepEqual(selectFormats(opts({ format: ['tar', 'tar', 'raw-bios'] }), { outputs: [{ format: 'iso-efi' }] }), [
    'tar',
    'raw-bios',
  ]);
  assert.throws(() => selectFormats(opts({ format: ['iso-bois'] }), {}), {
    message: 'Cannot build format "iso-bois": unknown format (did you mean "iso-bios"?)',
    exitCode: 2,
  });
  const files = (o: Partial<BuildOptions>, name: string): string[] =>
    plannedOutputFiles(planOutputs(name, opts(o), {}));
  assert.deepEqual(files({ format: ['kernel+initrd', 'vhd', 'dynamic-vhd'] }, 'linuxkit'), [
    'linuxkit-kernel',
    'linuxkit-initrd.img',
    'linuxkit-cmdline',
    'linuxkit.vhd',
  ]);
  assert.deepEqual(files({ format: ['tar'], name: 'os', dir: 'build' }, 'x'), ['build/os.tar']);
  assert.deepEqual(files({ format: ['docker'], output: '-' }, 'x'), ['<stdout>']);
  assert.deepEqual(files({ format: ['kernel+squashfs', 'kernel+iso'] }, 'os'), [
    'os-kernel',
    'os-squashfs.img',
    'os-cmdline',
    'os.iso',
    'os-initrd.img (loader initrd, when the kernel has what kernel+squashfs, kernel+iso need to mount root only as modules)',
  ]);
  assert.throws(() => files({ format: ['iso-bios'], output: 'x.iso' }, 'x'), { exitCode: 2 });
  assert.throws(() => files({ format: ['tar'], output: 'x.tar', name: 'y' }, 'x'), {
    message: 'Cannot use -o with --name or --dir: -o names the output file itself',
  });
});

void test('the dry-run output is itself a valid spec equal to the normalised input (examples round-trip)', async () => {
  const { parseSpec } = await import('../spec/parse.ts');
  const { loadSpecs } = await import('../spec/load.ts');
  const { normaliseSpec } = await import('../spec/normalise.ts');
  for (const name of ['minimal', 'getty', 'docker', 'redis-os', 'moby-2017']) {
    const file = new URL(`../../examples/${name}.yml`, import.meta.url).pathname;
    const c = capture();
    await runDryRun([file], opts(), c.ctx);
    const again = parseSpec(c.out(), 'dry-run.yml');
    assert.deepEqual(again.issues, [], name);
    assert.deepEqual(again.spec, normaliseSpec((await loadSpecs([file])).spec), name);
  }
});

void test('with --locked, shows the digests the build would use instead of resolving tags', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mobyts-dry-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const spec = join(dir, 'app.yml');
  await writeFile(spec, 'init: [linuxkit/init:v1]\n');
  const initDigest = `sha256:${'a'.repeat(64)}`;
  const amd = `sha256:${'b'.repeat(64)}`;
  await writeFile(
    `${spec}.lock`,
    `${JSON.stringify(
      {
        images: {
          'docker.io/linuxkit/init:v1': {
            digest: initDigest,
            mediaType: 'application/vnd.oci.image.index.v1+json',
            trust: 'none',
            platforms: [
              { digest: amd, platform: 'linux/amd64' },
              { digest: `sha256:${'c'.repeat(64)}`, platform: 'linux/arm64/v8' },
            ],
          },
        },
        lockfileVersion: 1,
      },
      null,
      2,
    )}\n`,
  );
  const c = capture();
  await runDryRun([spec], opts({ locked: '' }), c.ctx);
  assert.equal(c.code(), 0, c.err());
  assert.ok(
    c
      .out()
      .endsWith(
        `# locked (${spec}.lock):\n#   docker.io/linuxkit/init:v1 → ${initDigest} (linux/amd64 ${amd}) trust=none\n`,
      ),
    c.out(),
  );
});
