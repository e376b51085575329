/**
 * `mobyts lock` and lock-pinned fetching against the real docker-registry (and notary-server for trust:).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { request } from 'undici';
import { parseReference } from '../../src/oci/reference.ts';
import { digestHex } from '../../src/oci/digest.ts';
import { openStore } from '../../src/store/index.ts';
import { runLock as runLockLoaded } from '../../src/pipeline/lock.ts';
import { dryRunPlan } from '../../src/pipeline/dry-run.ts';
import { buildOptions } from '../../src/pipeline/options.ts';
import { lockfileFromImages } from '../../src/lock/image-plan.ts';
import { serialiseLock } from '../../src/lock/lockfile.ts';
import { loadSpecs } from '../../src/spec/load.ts';
import { showIssues } from '../../src/cli/show-issues.ts';
import { readLock } from '../../src/lock/pin.ts';
import { getLockedImage } from '../../src/lock/fetch-locked.ts';
import type { CliContext } from '../../src/cli/context.ts';
import { recordingReporter, type ReportEvent } from '../../src/util/reporter.ts';
import { startNotary, type NotaryServer } from '../helpers/notary.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { buildImage, buildIndex, pushImage, randomLayer } from '../helpers/images.ts';

let notary: NotaryServer;
let registry: TestRegistry;
let work: string;

before(async () => {
  [notary, registry] = await Promise.all([startNotary(), startRegistry()]);
  work = await mkdtemp(path.join(tmpdir(), 'mobyts-lock-'));
});
after(async () => {
  await Promise.all([notary.stop(), registry.stop()]);
  await rm(work, { recursive: true, force: true });
});

function context(): CliContext & { events: ReportEvent[]; stderrText: () => string; exitCode: () => number } {
  const reporter = recordingReporter();
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (b: Buffer) => {
    err += b.toString();
  });
  let code = 0;
  return {
    stdout: new PassThrough(),
    stderr,
    signal: new AbortController().signal,
    reporter,
    events: reporter.events,
    setExitCode: (c) => {
      code = c;
    },
    stderrText: () => err,
    exitCode: () => code,
  };
}

/** `mobyts lock` as its CLI action runs it: load, show the problems (exit 1 on errors), lock. */
async function runLock(files: string[], opts: Parameters<typeof runLockLoaded>[2], ctx: CliContext): Promise<void> {
  const loaded = await loadSpecs(files);
  if (showIssues(loaded, ctx)) await runLockLoaded(files, loaded, opts, ctx);
}

function lockOptions(
  extra: { disableContentTrust?: boolean; output?: string } = {},
): Parameters<typeof runLockLoaded>[2] {
  return {
    registry: { ...registry.registryOptions, caFile: notary.caFile },
    trustServer: notary.url,
    trustDir: path.join(work, 'trust'),
    disableContentTrust: extra.disableContentTrust === true,
    ...(extra.output === undefined ? {} : { output: extra.output }),
  };
}

async function spec(name: string, body: string): Promise<string> {
  const file = path.join(work, name);
  await writeFile(file, body.replaceAll('HOST', registry.host));
  return file;
}

const amd64 = { os: 'linux', architecture: 'amd64' };

void describe('mobyts lock', { timeout: 300_000 }, () => {
  void it('pins every image to index and platform digests, trust-verified where trust: says, sorted and stable', async () => {
    const kernel = await buildIndex(
      [{ platform: { architecture: 'amd64' } }, { platform: { architecture: 'arm64', variant: 'v8' } }],
      { attestations: true },
    );
    const kernelDigest = await pushImage(registry.host, 'lk/kernel:6.6', kernel);
    const init = await buildImage({ layers: [randomLayer()] });
    const initDigest = await pushImage(registry.host, 'lk/init:v1', init);
    await notary.sign(`${registry.host}/lk/init`, 'v1', {
      digest: digestHex(initDigest),
      size: init.manifestBytes.length,
    });
    const appDigest = await pushImage(registry.host, 'lk/app:v1', await buildImage({ layers: [randomLayer()] }));
    const file = await spec(
      'one.yml',
      [
        'kernel:',
        '  image: HOST/lk/kernel:6.6',
        '  cmdline: console=ttyS0',
        'init:',
        '  - HOST/lk/init:v1',
        'onboot:',
        '  - name: app',
        '    image: HOST/lk/app:v1',
        'trust:',
        '  image:',
        '    - HOST/lk/init',
        '',
      ].join('\n'),
    );
    const ctx = context();
    await runLock([file], lockOptions(), ctx);
    assert.equal(ctx.exitCode(), 0, ctx.stderrText());
    const text = await readFile(`${file}.lock`, 'utf8');
    const [amdImage, armImage] = kernel.images;
    const h = registry.host;
    assert.equal(
      text,
      `${JSON.stringify(
        {
          images: {
            [`${h}/lk/app:v1`]: {
              digest: appDigest,
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              trust: 'none',
            },
            [`${h}/lk/init:v1`]: {
              digest: initDigest,
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              signedBy: ['targets'],
              trust: 'verified',
            },
            [`${h}/lk/kernel:6.6`]: {
              digest: kernelDigest,
              mediaType: 'application/vnd.oci.image.index.v1+json',
              platforms: [
                { digest: amdImage?.descriptor.digest, platform: 'linux/amd64' },
                { digest: armImage?.descriptor.digest, platform: 'linux/arm64/v8' },
              ],
              trust: 'none',
            },
          },
          lockfileVersion: 1,
        },
        null,
        2,
      )}\n`,
    );
    await runLock([file], lockOptions({ output: path.join(work, 'again.lock') }), context());
    assert.equal(await readFile(path.join(work, 'again.lock'), 'utf8'), text);

    // The tag moves on; the lock does not.
    const moved = await pushImage(registry.host, 'lk/app:v1', await buildImage({ layers: [randomLayer()] }));
    assert.notEqual(moved, appDigest);
    const lock = await readLock(`${file}.lock`);
    const store = await openStore(path.join(work, 'cache-1'));
    const app = await getLockedImage(store, lock, parseReference(`${h}/lk/app:v1`), {
      ...registry.pullOptions(amd64),
      arch: 'amd64',
    });
    assert.equal(app.source.manifestDigest, appDigest);
    const k = await getLockedImage(store, lock, parseReference(`${h}/lk/kernel:6.6`), {
      ...registry.pullOptions({ os: 'linux', architecture: 'arm64' }),
      arch: 'arm64',
    });
    assert.equal(k.source.manifestDigest, armImage?.descriptor.digest);
    assert.equal(k.pin.indexDigest, kernelDigest);

    // The locked digest disappears from the registry: a clear failure naming lockfile and digest.
    const del = await request(`${registry.url}/v2/lk/app/manifests/${appDigest}`, { method: 'DELETE' });
    await del.body.dump();
    assert.equal(del.statusCode, 202);
    await assert.rejects(
      getLockedImage(await openStore(path.join(work, 'cache-2')), lock, parseReference(`${h}/lk/app:v1`), {
        ...registry.pullOptions(amd64),
        arch: 'amd64',
      }),
      (err: Error) => {
        assert.equal(err.message, `Cannot fetch locked image "${h}/lk/app:v1@${appDigest}" (pinned by "${file}.lock")`);
        // why the registry could not serve it stays attached, for the renderer's caused-by line
        assert.ok(err.cause instanceof Error && err.cause.message !== '', String(err.cause));
        return true;
      },
    );
    await assert.rejects(
      getLockedImage(store, lock, parseReference(`${h}/lk/other:v1`), {
        ...registry.pullOptions(amd64),
        arch: 'amd64',
      }),
      { message: `Cannot use locked image "${h}/lk/other:v1" from "${file}.lock": it is not in the lockfile` },
    );
  });

  void it('refuses an unsigned trust: image before writing anything, and pins it loudly with --disable-content-trust', async () => {
    await pushImage(registry.host, 'nosig/app:v1', await buildImage({ layers: [randomLayer()] }));
    const file = await spec(
      'two.yml',
      ['onboot:', '  - name: app', '    image: HOST/nosig/app:v1', 'trust:', '  org:', '    - nosig', ''].join('\n'),
    );
    await assert.rejects(
      runLock([file], lockOptions(), context()),
      /Cannot verify ".*\/nosig\/app:v1" with Docker Content Trust: .* \(the repository is not signed\)/,
    );
    await assert.rejects(access(`${file}.lock`));
    const ctx = context();
    await runLock([file], lockOptions({ disableContentTrust: true }), ctx);
    assert.deepEqual(
      ctx.events.filter((e) => e.type === 'warn'),
      [
        {
          type: 'warn',
          message: `content trust DISABLED: "${registry.host}/nosig/app:v1" is in trust: but is pulled WITHOUT verification (--disable-content-trust)`,
        },
      ],
    );
    assert.match(await readFile(`${file}.lock`, 'utf8'), /"trust": "disabled"/);
    // Building from that lock must not silently drop the trust requirement.
    const lock = await readLock(`${file}.lock`);
    const ref = parseReference(`${registry.host}/nosig/app:v1`);
    const store = await openStore(path.join(work, 'cache-3'));
    const trust = { org: ['nosig'] };
    await assert.rejects(getLockedImage(store, lock, ref, { ...registry.pullOptions(amd64), arch: 'amd64', trust }), {
      message: `Cannot use locked image "${registry.host}/nosig/app:v1" from "${file}.lock": it is in trust: but the lock has it as trust "disabled", not verified`,
    });
    const warned = recordingReporter();
    const got = await getLockedImage(store, lock, ref, {
      ...registry.pullOptions(amd64),
      reporter: warned,
      arch: 'amd64',
      trust,
      disableContentTrust: true,
    });
    assert.equal(got.pin.trust, 'disabled');
    assert.equal(warned.events.filter((e) => e.type === 'warn').length, 1);
  });

  void it('writes the plan build --dry-run --pull makes: the same walk, each image once whatever its platforms', async () => {
    const data = await buildIndex([
      { platform: { architecture: 'amd64' } },
      { platform: { architecture: 'arm64', variant: 'v8' } },
    ]);
    await pushImage(registry.host, 'walk/data:1', data);
    await pushImage(registry.host, 'walk/app:v1', await buildImage({ layers: [randomLayer()] }));
    const file = await spec(
      'walk.yml',
      [
        'onboot:',
        '  - name: app',
        '    image: HOST/walk/app:v1',
        'volumes:',
        '  - name: data',
        '    image: HOST/walk/data:1',
        '    format: oci',
        '    platforms: [linux/arm64]',
        '',
      ].join('\n'),
    );
    await runLock([file], lockOptions(), context());
    const loaded = await loadSpecs([file]);
    const r = registry.registryOptions;
    const dry = await dryRunPlan(
      loaded,
      buildOptions({
        arch: 'amd64',
        dryRun: true,
        pull: true,
        mirror: r.mirrors,
        insecureRegistry: r.insecureRegistries,
        ...(r.caFile === undefined ? {} : { certFile: r.caFile }),
        cache: path.join(work, 'walk-cache'),
      }),
      context(),
    );
    // the data volume is planned for amd64 and arm64; the lock has it once
    assert.deepEqual(
      dry.images.map((i) => [i.ref.replace(registry.host, 'HOST'), i.platform]),
      [
        ['HOST/walk/data:1', 'linux/amd64'],
        ['HOST/walk/app:v1', 'linux/amd64'],
        ['HOST/walk/data:1', 'linux/arm64'],
      ],
    );
    assert.equal(await readFile(`${file}.lock`, 'utf8'), serialiseLock(lockfileFromImages(dry.images)));
  });

  void it('records a trust: image referenced only by digest as "digest", not as verified', async () => {
    const digest = await pushImage(registry.host, 'bydigest/app:v1', await buildImage({ layers: [randomLayer()] }));
    const file = await spec(
      'three.yml',
      [
        'onboot:',
        '  - name: app',
        `    image: HOST/bydigest/app@${digest}`,
        'trust:',
        '  org:',
        '    - bydigest',
        '',
      ].join('\n'),
    );
    await runLock([file], lockOptions(), context());
    const lock = JSON.parse(await readFile(`${file}.lock`, 'utf8')) as { images: Record<string, unknown> };
    assert.deepEqual(lock.images[`${registry.host}/bydigest/app@${digest}`], {
      digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      trust: 'digest',
    });
  });
});
