/** `mobyts cache …` end to end (the real CLI in a child process), with skopeo cross-checking the archives. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { promisify } from 'node:util';
import { digestOf } from '../../src/oci/digest.ts';
import { parseReference } from '../../src/oci/reference.ts';
import { openStore, platformFor } from '../../src/store/index.ts';
import { entryStreamOf } from '../../src/tar/streams.ts';
import { tarBytes } from '../../src/tar/write.ts';
import { buildImage, buildIndex, layerTar, pushImage } from '../helpers/images.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const exec = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'mobyts.js');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], {
      env: { ...process.env, LINUXKIT_MIRROR: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function tarOf(files: Array<[string, Buffer]>): Promise<Buffer> {
  return buffer(
    Readable.from(
      tarBytes(
        entryStreamOf(
          files.map(([name, body]) => ({
            header: { name, type: 'file' as const, mode: 0o644, uid: 0, gid: 0, mtime: 0, size: body.length },
            body: Readable.from([body]),
          })),
        ),
      ),
    ),
  );
}

void describe('mobyts cache', () => {
  let reg: TestRegistry;
  let work: string;
  before(async () => {
    reg = await startRegistry();
    work = await mkdtemp(join(tmpdir(), 'mobyts-cache-cli-'));
  });
  after(async () => {
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  });

  void it('pull, ls, verify, export → skopeo → registry, import, rm, clean', async () => {
    const idx = await buildIndex([{ platform: { architecture: 'amd64' } }, { platform: { architecture: 'arm64' } }]);
    await pushImage(reg.host, 'cli/app:1', idx);
    const a = join(work, 'a');
    const ref = `${reg.host}/cli/app:1`;

    const pulled = await cli(['cache', 'pull', '--cache', a, '--arch', 'arm64', ref]);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.match(pulled.stdout, new RegExp(`^${ref}@${idx.descriptor.digest} linux/arm64 \\d+(\\.\\d)? KiB\\n$`));

    const ls = await cli(['cache', 'ls', '--cache', a]);
    assert.match(
      ls.stdout,
      new RegExp(
        `^IMAGE +DIGEST +PLATFORMS +SIZE\\n${ref} +${idx.descriptor.digest} +linux/arm64 +\\d+(\\.\\d)? KiB\\n$`,
      ),
    );

    const verify = await cli(['cache', 'verify', '--cache', a]);
    assert.equal(verify.code, 0);
    assert.match(verify.stdout, /^Checked 5 blobs \(.*\) and 1 images: OK\n$/);

    const archive = join(work, 'app.tar');
    const exported = await cli(['cache', 'export', '--cache', a, '-o', archive, ref]);
    assert.equal(exported.code, 0, exported.stderr);
    // the archive holds only arm64's layers (as pulled), so skopeo copies that platform
    await exec('skopeo', [
      'copy',
      '--quiet',
      '--override-arch',
      'arm64',
      '--dest-tls-verify=false',
      `oci-archive:${archive}`,
      `docker://${reg.host}/cli/copied:1`,
    ]);
    const copied = await openStore(join(work, 'c'));
    const viaSkopeo = await copied.getImage(
      parseReference(`${reg.host}/cli/copied:1`),
      reg.pullOptions(platformFor('arm64')),
    );
    assert.equal(
      viaSkopeo.rootDescriptor.digest,
      idx.images[1]?.descriptor.digest,
      'skopeo reads our archive and pushes the same arm64 manifest',
    );

    const b = join(work, 'b');
    const imported = await cli(['cache', 'import', '--cache', b, archive]);
    assert.equal(imported.stdout, `Imported ${ref}\n`);
    const storeB = await openStore(b);
    const fromImport = await storeB.getCachedImage(parseReference(ref), platformFor('arm64'));
    assert.equal(fromImport?.manifestDigest, idx.images[1]?.descriptor.digest);
    await storeB.close(); // its lease would keep the image's blobs from `cache clean` below

    const rmOut = await cli(['cache', 'rm', '--cache', a, ref]);
    assert.match(rmOut.stdout, new RegExp(`^Removed ${ref}\\nFreed 5 blobs, .*\\n$`));
    assert.deepEqual(await readdir(join(a, 'blobs', 'sha256')), []);
    const missing = await cli(['cache', 'rm', '--cache', a, ref]);
    assert.equal(missing.code, 1);
    assert.equal(
      missing.stderr,
      `Error: Cannot remove "${ref}": it is not in the cache at "${a}"\nhint: see \`mobyts cache ls\`\n`,
    );

    const clean = await cli(['cache', 'clean', '--cache', b]);
    assert.match(clean.stdout, /^Removed 1 images and 5 blobs, freed .*\n$/);
  });

  void it('imports an archive written by skopeo and a legacy docker save archive', async () => {
    const img = await buildImage({ config: { Cmd: ['/hello'] } });
    await pushImage(reg.host, 'cli/sk:1', img);
    const skArchive = join(work, 'sk.tar');
    await exec('skopeo', [
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      `docker://${reg.host}/cli/sk:1`,
      `oci-archive:${skArchive}:team/sk:1`,
    ]);
    const d = join(work, 'd');
    assert.equal((await cli(['cache', 'import', '--cache', d, skArchive])).stdout, 'Imported docker.io/team/sk:1\n');
    assert.deepEqual(
      (await (await openStore(d)).getCachedImage(parseReference('team/sk:1'), platformFor('amd64')))?.config.config
        ?.Cmd,
      ['/hello'],
    );

    const layer = await layerTar([{ type: 'file', path: 'hello', content: 'hi\n' }]);
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Cmd: ['/legacy'] },
        rootfs: { type: 'layers', diff_ids: [digestOf(layer)] },
      }),
    );
    const legacy = await tarOf([
      [
        'manifest.json',
        Buffer.from(
          JSON.stringify([
            { Config: `${digestOf(config).slice(7)}.json`, RepoTags: ['legacy/app:2'], Layers: ['abc/layer.tar'] },
          ]),
        ),
      ],
      [`${digestOf(config).slice(7)}.json`, config],
      ['abc/layer.tar', layer],
      ['repositories', Buffer.from('{}')],
    ]);
    const legacyFile = join(work, 'legacy.tar');
    await writeFile(legacyFile, legacy);
    assert.equal(
      (await cli(['cache', 'import', '--cache', d, legacyFile])).stdout,
      'Imported docker.io/legacy/app:2\n',
    );
    const src = await (await openStore(d)).getCachedImage(parseReference('legacy/app:2'), platformFor('amd64'));
    assert.deepEqual(src?.config.config?.Cmd, ['/legacy']);
    assert.deepEqual(await buffer(await src.openLayer(src.manifest.layers[0]!)), layer);
    assert.equal((await cli(['cache', 'verify', '--cache', d])).code, 0);
  });

  void it('verify reports a tampered blob and exits 1', async () => {
    const img = await buildImage();
    await pushImage(reg.host, 'cli/tamper:1', img);
    const e = join(work, 'e');
    await (
      await openStore(e)
    ).getImage(parseReference(`${reg.host}/cli/tamper:1`), reg.pullOptions(platformFor('amd64')));
    const layer = img.manifest.layers[0]!;
    await writeFile(join(e, 'blobs', 'sha256', layer.digest.slice(7)), 'tampered');
    const out = await cli(['cache', 'verify', '--cache', e]);
    assert.equal(out.code, 1);
    assert.match(
      out.stdout,
      new RegExp(
        `^blob ${layer.digest}: content has digest ${digestOf('tampered')}\nChecked 3 blobs \\(.*\\) and 1 images: 1 problems\n$`,
      ),
    );
  });
});
