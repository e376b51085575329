/**
 * `mobyts build` with a `trust:` section, end to end: the real CLI, the real docker-registry and the real
 * notary-server/notary-signer with tags signed by the real `notary` client.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { digestHex } from '../../src/oci/digest.ts';
import { startNotary, type NotaryServer } from '../helpers/notary.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { buildImage, pushImage, type BuiltImage } from '../helpers/images.ts';
import { runCli, type CliResult } from '../pipeline/fixture.ts';

let notary: NotaryServer;
let registry: TestRegistry;
let work: string;

before(async () => {
  [notary, registry] = await Promise.all([startNotary(), startRegistry()]);
  work = await mkdtemp(path.join(tmpdir(), 'mobyts-trust-build-'));
  await mkdir(path.join(work, 'home'));
});
after(async () => {
  await Promise.all([notary.stop(), registry.stop()]);
  await rm(work, { recursive: true, force: true });
});

const dataImage = (seed: string): Promise<BuiltImage> =>
  buildImage({
    layers: [
      {
        entries: [
          { type: 'dir', path: 'data' },
          { type: 'file', path: 'data/seed', content: seed },
        ],
      },
    ],
  });

function build(args: string[]): Promise<CliResult> {
  return runCli(
    [
      'build',
      '--cache',
      path.join(work, 'cache'),
      '--no-sbom',
      '--trust-server',
      notary.url,
      '--cert-file',
      notary.caFile,
      ...args,
    ],
    { home: path.join(work, 'home'), cwd: work, env: { MOBYTS_TRUST_DIR: path.join(work, 'trust') } },
  );
}

function seeds(tarFile: string): string[] {
  return ['a', 'b'].map((v) =>
    execFileSync('tar', ['-xOf', tarFile, `containers/volumes/${v}/lower/data/seed`], {
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString(),
  );
}

void describe('mobyts build with trust:', { timeout: 300_000 }, () => {
  void it('builds signed images by their signed digest, refuses a re-pushed tag before writing anything, and builds loudly with --disable-content-trust', async () => {
    const h = registry.host;
    const signed = await dataImage('signed');
    const signedDigest = await pushImage(h, 'trusted/data:1', signed);
    await notary.sign(`${h}/trusted/data`, '1', { digest: digestHex(signedDigest), size: signed.manifestBytes.length });
    await pushImage(h, 'free/data:1', await dataImage('free'));
    const spec = path.join(work, 'trusted.yml');
    await writeFile(
      spec,
      [
        'volumes:',
        '  - name: a',
        `    image: ${h}/trusted/data:1`,
        '  - name: b',
        `    image: ${h}/free/data:1`,
        'trust:',
        '  image:',
        `    - ${h}/trusted/data`,
        '',
      ].join('\n'),
    );

    const ok = await build(['-o', 'ok.tar', spec]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(seeds(path.join(work, 'ok.tar')), ['signed', 'free']);

    const repushed = await pushImage(h, 'trusted/data:1', await dataImage('tampered'));
    const refused = await build(['--pull', '-o', 'refused.tar', spec]);
    assert.equal(refused.code, 1);
    assert.ok(
      refused.stderr.includes(
        `Cannot verify "${h}/trusted/data:1" with Docker Content Trust: the registry serves ${repushed} for the tag "1" but Notary signed ${signedDigest}`,
      ),
      refused.stderr,
    );
    await assert.rejects(access(path.join(work, 'refused.tar')));

    const loud = await build(['--pull', '--disable-content-trust', '-o', 'loud.tar', spec]);
    assert.equal(loud.code, 0, loud.stderr);
    assert.ok(
      loud.stderr.includes(
        `content trust DISABLED: "${h}/trusted/data:1" is in trust: but is pulled WITHOUT verification (--disable-content-trust)`,
      ),
      loud.stderr,
    );
    assert.deepEqual(seeds(path.join(work, 'loud.tar')), ['tampered', 'free']);
    assert.ok((await readFile(path.join(work, 'loud.tar'))).length > 0);
  });
});
