/**
 * `mobyts cache push`, `cache export --format docker|filesystem|oci --platform --name` and `pkg push` (the real CLI
 * in a child process, the REAL registry), cross-checked with skopeo and tar.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { buildIndex, pushImage, type BuiltIndex } from '../helpers/images.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const exec = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'mobyts.js');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], {
      env: { ...process.env, LINUXKIT_MIRROR: '' },
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function remoteDigest(reg: TestRegistry, repo: string, tag: string): Promise<string | undefined> {
  const res = await request(`${reg.url}/v2/${repo}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' },
  });
  await res.body.dump();
  return res.statusCode === 200 ? String(res.headers['docker-content-digest']) : undefined;
}

void describe('cache push / export / pkg push', () => {
  let reg: TestRegistry;
  let work: string;
  let idx: BuiltIndex;
  let ref: string;
  let cache: string;
  before(async () => {
    reg = await startRegistry();
    work = await mkdtemp(join(tmpdir(), 'mobyts-cache-push-'));
    idx = await buildIndex(
      ['amd64', 'arm64'].map((architecture) => ({
        platform: { architecture },
        layers: [
          {
            entries: [
              { type: 'dir', path: 'etc' },
              { type: 'file', path: `etc/${architecture}`, content: architecture },
              { type: 'file', path: 'etc/old', content: 'gone' },
            ],
          },
          {
            entries: [
              { type: 'whiteout', path: 'etc/old' },
              { type: 'file', path: 'etc/top', content: 'top' },
            ],
          },
        ],
        config: { Cmd: ['/bin/sh'] },
      })),
    );
    await pushImage(reg.host, 'src/multi:1', idx);
    ref = `${reg.host}/src/multi:1`;
    cache = join(work, 'cache');
    for (const arch of ['amd64', 'arm64'])
      assert.equal((await cli(['cache', 'pull', '--cache', cache, '--arch', arch, ref])).code, 0);
  });
  after(async () => {
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  });

  void it('cache push copies the index with every platform, arch tags on request, and leaves an existing tag alone unless --override', async () => {
    const dest = `${reg.host}/copy/multi:1`;
    const r = await cli(['cache', 'push', '--cache', cache, '--remote-name', dest, '--with-arch-tags', ref]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${dest}@${idx.descriptor.digest} 1-amd64 1-arm64\n`);
    assert.equal(await remoteDigest(reg, 'copy/multi', '1'), idx.descriptor.digest);
    assert.equal(await remoteDigest(reg, 'copy/multi', '1-amd64'), idx.images[0]?.descriptor.digest);
    assert.equal(await remoteDigest(reg, 'copy/multi', '1-arm64'), idx.images[1]?.descriptor.digest);
    // skopeo reads the pushed arm64 image back, byte for byte the same config
    const { stdout } = await exec('skopeo', [
      'inspect',
      '--raw',
      '--config',
      '--tls-verify=false',
      '--override-arch',
      'arm64',
      `docker://${dest}`,
    ]);
    assert.equal(stdout.trim(), idx.images[1]?.configBytes.toString());

    const again = await cli(['cache', 'push', '--cache', cache, '--remote-name', dest, ref]);
    assert.equal(again.code, 0);
    assert.equal(again.stdout, '');
    assert.match(
      again.stderr,
      new RegExp(
        `${dest.replaceAll('.', '\\.')} is already in the registry: not pushed \\(--override pushes it again\\)`,
      ),
    );
    const forced = await cli(['cache', 'push', '--cache', cache, '--remote-name', dest, '--override', ref]);
    assert.equal(forced.stdout, `${dest}@${idx.descriptor.digest}\n`);

    const many = await cli(['cache', 'push', '--cache', cache, '--remote-name', dest, ref, ref]);
    assert.equal(many.code, 2);
    assert.equal(
      many.stderr,
      'Error: Cannot use --remote-name with several images\nhint: push one image at a time under a new name\n',
    );
  });

  void it('cache push of an index with a platform not cached fails naming it, and pushes no tag', async () => {
    const partial = join(work, 'partial');
    assert.equal((await cli(['cache', 'pull', '--cache', partial, '--arch', 'amd64', ref])).code, 0);
    const r = await cli(['cache', 'push', '--cache', partial, '--remote-name', `${reg.host}/copy/partial:1`, ref]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `Error: Cannot push "${reg.host}/copy/partial:1": the cache lacks the linux/arm64 layer ${idx.images[1]?.layers[0]?.descriptor.digest} of "${ref}"\nhint: pull every platform first (mobyts cache pull --arch ARCH ${ref}), or push one platform's image by digest\n`,
    );
    assert.equal(await remoteDigest(reg, 'copy/partial', '1'), undefined);
  });

  void it('export --format docker writes what docker-archive readers load; filesystem the flattened tree; oci --platform one platform', async () => {
    const docker = join(work, 'multi.docker.tar');
    const d = await cli([
      'cache',
      'export',
      '--cache',
      cache,
      '--format',
      'docker',
      '--platform',
      'linux/arm64',
      '--name',
      'team/multi:arm',
      '-o',
      docker,
      ref,
    ]);
    assert.equal(d.code, 0, d.stderr);
    const layout = join(work, 'from-docker');
    await exec('skopeo', ['copy', '--quiet', `docker-archive:${docker}`, `oci:${layout}:x`]);
    const inspected = JSON.parse(
      (await exec('skopeo', ['inspect', '--config', '--raw', `oci:${layout}:x`])).stdout,
    ) as { architecture: string; rootfs: { diff_ids: string[] } };
    assert.equal(inspected.architecture, 'arm64');
    assert.deepEqual(
      inspected.rootfs.diff_ids,
      idx.images[1]?.layers.map((l) => l.diffId),
    );
    const tags = JSON.parse((await exec('tar', ['-xOf', docker, 'manifest.json'])).stdout) as Array<{
      RepoTags: string[];
    }>;
    assert.deepEqual(tags[0]?.RepoTags, ['team/multi:arm']);

    const fs = join(work, 'multi.fs.tar');
    const f = await cli([
      'cache',
      'export',
      '--cache',
      cache,
      '--format',
      'filesystem',
      '--platform',
      'linux/amd64',
      '-o',
      fs,
      ref,
    ]);
    assert.equal(f.code, 0, f.stderr);
    const names = (await exec('tar', ['-tf', fs])).stdout
      .split('\n')
      .filter((n) => n !== '')
      .sort();
    assert.deepEqual(names, ['etc', 'etc/amd64', 'etc/top']);
    assert.equal((await exec('tar', ['-xOf', fs, 'etc/amd64'])).stdout, 'amd64');

    const oci = join(work, 'multi.oci.tar');
    const o = await cli([
      'cache',
      'export',
      '--cache',
      cache,
      '--platform',
      'linux/arm64',
      '--name',
      'team/multi:oci',
      '-o',
      oci,
      ref,
    ]);
    assert.equal(o.code, 0, o.stderr);
    const raw = (await exec('skopeo', ['inspect', '--raw', 'oci-archive:' + oci + ':team/multi:oci'])).stdout;
    assert.equal(raw, idx.images[1]?.manifestBytes.toString());

    const two = await cli(['cache', 'export', '--cache', cache, '--format', 'filesystem', '-o', fs, ref, ref]);
    assert.equal(two.code, 2);
    assert.match(two.stderr, /^Error: Cannot export 2 images as filesystem: it holds one image\n/);
  });

  void it('pkg push builds a package and pushes it to its registry', async () => {
    const pkg = join(work, 'pkg');
    await mkdir(join(pkg, 'files/etc'), { recursive: true });
    await writeFile(
      join(pkg, 'build.yml'),
      `image: pushed\norg: ${reg.host}/example\ncontents: ./files\nimageConfig:\n  Cmd: ["/bin/true"]\n`,
    );
    await writeFile(join(pkg, 'files/etc/issue'), 'pushed package\n');
    const r = await cli(['pkg', 'push', '--cache', join(work, 'pkgcache'), pkg]);
    assert.equal(r.code, 0, r.stderr);
    const [name, digest] = r.stdout.trim().split(' ');
    const tag = name?.split(':').pop() ?? '';
    assert.equal(await remoteDigest(reg, 'example/pushed', tag), digest);
    assert.match(r.stderr, /Pushed .*example\/pushed/);
    assert.ok((await readFile(join(pkg, 'build.yml'))).length > 0);
  });
});
