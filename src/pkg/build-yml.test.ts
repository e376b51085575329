/** build.yml as a package author writes it: defaults, every refusal with its exact message, YAML errors with their cause. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parsePackageSpec, readPackageSpec } from './build-yml.ts';

void test('LinuxKit defaults: org linuxkit, arches [amd64], empty image config; optional fields only when given', () => {
  assert.deepEqual(parsePackageSpec('p', { image: 'hello' }), {
    image: 'hello',
    org: 'linuxkit',
    arches: ['amd64'],
    imageConfig: {},
  });
  assert.deepEqual(
    parsePackageSpec('p', {
      image: 'init',
      org: 'example.com/team',
      arches: ['amd64', 'arm64'],
      base: '../base',
      contents: 'rootfs',
      prepare: 'make',
      fingerprint: 'dpkg -l',
      config: { binds: ['/dev:/dev'] },
      imageConfig: { Entrypoint: ['/init'], Env: ['A=1'], WorkingDir: '/', Labels: { x: 'y' } },
      network: true,
      buildArgs: {},
      dockerfile: 'Dockerfile', // LinuxKit's own keys are accepted (and unused)
    }),
    {
      image: 'init',
      org: 'example.com/team',
      arches: ['amd64', 'arm64'],
      base: '../base',
      contents: 'rootfs',
      prepare: 'make',
      fingerprint: 'dpkg -l',
      config: { binds: ['/dev:/dev'] },
      imageConfig: { Entrypoint: ['/init'], Env: ['A=1'], WorkingDir: '/', Labels: { x: 'y' } },
    },
  );
});

void test('each mistake is refused with the package, the field and what to write instead', () => {
  const cases: Array<[unknown, string]> = [
    [['image'], 'must be a mapping'],
    [{ image: 'x', imgae: 'y' }, 'has unknown field "imgae"'],
    [{ org: 'x' }, 'has no "image" field'],
    [{ image: '' }, 'field "image" must be a non-empty string'],
    [{ image: 'x', tag: 'v1' }, 'field "tag" is not supported: mobyts tags packages by the hash of their inputs'],
    [{ image: 'x', config: ['a'] }, 'field "config" must be a mapping'],
    [{ image: 'x', arches: 'amd64' }, 'field "arches" must be a list of strings'],
    [
      { image: 'x', imageConfig: { User: 'root' } },
      'field "imageConfig.User" is not supported (use Entrypoint, Cmd, Env, WorkingDir, Labels)',
    ],
    [{ image: 'x', imageConfig: { Cmd: 'sh' } }, 'field "imageConfig.Cmd" must be a list of strings'],
    [{ image: 'x', imageConfig: { WorkingDir: 1 } }, 'field "imageConfig.WorkingDir" must be a string'],
    [{ image: 'x', imageConfig: { Labels: { a: 1 } } }, 'field "imageConfig.Labels" must map strings to strings'],
    [{ image: 'x', prepare: 7 }, 'field "prepare" must be a non-empty string'],
  ];
  for (const [doc, why] of cases) {
    assert.throws(
      () => parsePackageSpec('pkgs/x', doc),
      { code: 'SPEC_INVALID', exitCode: 1, message: `Invalid package "pkgs/x": build.yml ${why}` },
      why,
    );
  }
});

void test('a directory without build.yml is not a package; bad YAML keeps the parser error as its cause', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mobyts-pkgyml-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await assert.rejects(readPackageSpec(dir), {
    code: 'NOT_FOUND',
    message: `Cannot read package "${dir}": no build.yml there`,
    hint: 'a package is a directory with a build.yml',
  });
  await writeFile(join(dir, 'build.yml'), 'image: [unclosed\n');
  await assert.rejects(readPackageSpec(dir), (err: Error) => {
    assert.equal(err.message, `Invalid package "${dir}": build.yml is not valid YAML`);
    assert.match((err.cause as Error).message, /at line 2, column 1/);
    return true;
  });
  await writeFile(join(dir, 'build.yml'), 'image: hello\norg: me\n');
  assert.deepEqual(await readPackageSpec(dir), { image: 'hello', org: 'me', arches: ['amd64'], imageConfig: {} });
});
