/**
 * verifyTrusted end to end: images pushed to the real Debian docker-registry, tags signed with the real
 * `notary` client on the real notary-server, then pulled by the verified digest through the store.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseReference, withDigest } from '../../src/oci/reference.ts';
import { digestHex } from '../../src/oci/digest.ts';
import { openStore } from '../../src/store/index.ts';
import { verifyTrusted } from '../../src/trust/verify.ts';
import { verifySpecTrust } from '../../src/trust/spec-trust.ts';
import { recordingReporter, silentReporter } from '../../src/util/reporter.ts';
import { startNotary, type NotaryServer } from '../helpers/notary.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { buildImage, pushImage, randomLayer, type BuiltImage } from '../helpers/images.ts';

let notary: NotaryServer;
let registry: TestRegistry;
let work: string;

before(async () => {
  [notary, registry] = await Promise.all([startNotary(), startRegistry()]);
  work = await mkdtemp(path.join(tmpdir(), 'mobyts-trust-e2e-'));
});
after(async () => {
  await Promise.all([notary.stop(), registry.stop()]);
  await rm(work, { recursive: true, force: true });
});

async function pushSigned(repoTag: string, image: BuiltImage): Promise<string> {
  const digest = await pushImage(registry.host, repoTag, image);
  const [repo, tag] = repoTag.split(':');
  await notary.sign(`${registry.host}/${repo ?? ''}`, tag ?? 'latest', {
    digest: digestHex(digest),
    size: image.manifestBytes.length,
  });
  return digest;
}

function opts(trustDir: string): Parameters<typeof verifyTrusted>[1] {
  return {
    registry: { ...registry.registryOptions, caFile: notary.caFile },
    trustServer: notary.url,
    trustDir,
    reporter: silentReporter,
  };
}

void describe('verifyTrusted with docker-registry + notary-server', { timeout: 240_000 }, () => {
  void it('resolves a signed tag to its digest, which the store then pulls by digest', async () => {
    const image = await buildImage({ layers: [randomLayer()] });
    const digest = await pushSigned('signed/app:v1', image);
    const ref = parseReference(`${registry.host}/signed/app:v1`);
    const reporter = recordingReporter();
    const got = await verifyTrusted(ref, { ...opts(path.join(work, 'a')), reporter });
    assert.equal(got.digest, digest);
    assert.deepEqual(got.signedBy, ['targets']);
    assert.match(
      JSON.stringify(reporter.events),
      /content trust: \\".*signed\/app:v1\\" is sha256:[0-9a-f]{64}, signed by targets/,
    );
    const store = await openStore(path.join(work, 'cache-a'));
    const source = await store.getImage(
      withDigest(ref, got.digest),
      registry.pullOptions({ os: 'linux', architecture: 'amd64' }),
    );
    assert.equal(source.manifestDigest, digest);
  });

  void it('refuses a tag re-pushed without re-signing, naming both digests', async () => {
    const signed = await pushSigned('repushed/app:v1', await buildImage({ layers: [randomLayer()] }));
    const other = await pushImage(registry.host, 'repushed/app:v1', await buildImage({ layers: [randomLayer()] }));
    assert.notEqual(signed, other);
    await assert.rejects(
      verifyTrusted(parseReference(`${registry.host}/repushed/app:v1`), opts(path.join(work, 'b'))),
      {
        message: `Cannot verify "${registry.host}/repushed/app:v1" with Docker Content Trust: the registry serves ${other} for the tag "v1" but Notary signed ${signed}`,
      },
    );
  });

  void it('refuses an unsigned repository that is in the trust list', async () => {
    await pushImage(registry.host, 'unsigned/app:v1', await buildImage({ layers: [randomLayer()] }));
    await assert.rejects(
      verifyTrusted(parseReference(`${registry.host}/unsigned/app:v1`), opts(path.join(work, 'c'))),
      {
        message: `Cannot verify "${registry.host}/unsigned/app:v1" with Docker Content Trust: "${registry.host}/unsigned/app" has no trust data on ${notary.url} (the repository is not signed)`,
      },
    );
  });

  void it('refuses a spec digest that is not the signed one', async () => {
    const signed = await pushSigned('pinned/app:v1', await buildImage({ layers: [randomLayer()] }));
    const other = await pushImage(registry.host, 'pinned/app:v2', await buildImage({ layers: [randomLayer()] }));
    await assert.rejects(
      verifyTrusted(parseReference(`${registry.host}/pinned/app:v1@${other}`), opts(path.join(work, 'd'))),
      /with Docker Content Trust: the spec pins sha256:[0-9a-f]{64} but the tag "v1" is signed for sha256:[0-9a-f]{64}/,
    );
    const ok = await verifyTrusted(
      parseReference(`${registry.host}/pinned/app:v1@${signed}`),
      opts(path.join(work, 'd')),
    );
    assert.equal(ok.digest, signed);
  });

  void it('verifySpecTrust pins trusted images, skips the others, and only warns with --disable-content-trust', async () => {
    const signed = await pushSigned('spec/signed:v1', await buildImage({ layers: [randomLayer()] }));
    await pushImage(registry.host, 'spec/unsigned:v1', await buildImage({ layers: [randomLayer()] }));
    await pushImage(registry.host, 'other/free:v1', await buildImage({ layers: [randomLayer()] }));
    const h = registry.host;
    const refs = [`${h}/spec/signed:v1`, `${h}/other/free:v1`];
    const base = {
      registry: { ...registry.registryOptions, caFile: notary.caFile },
      trustServer: notary.url,
      trustDir: path.join(work, 'f'),
    };
    const pins = await verifySpecTrust(refs, {
      ...base,
      trust: { org: [`${h}/spec`] },
      disableContentTrust: false,
      reporter: recordingReporter(),
    });
    assert.deepEqual([...pins.keys()], [`${h}/spec/signed:v1`]);
    assert.equal(pins.get(`${h}/spec/signed:v1`)?.ref.expanded, `${h}/spec/signed:v1@${signed}`);
    await assert.rejects(
      verifySpecTrust([...refs, `${h}/spec/unsigned:v1`], {
        ...base,
        trust: { org: [`${h}/spec`] },
        disableContentTrust: false,
        reporter: recordingReporter(),
      }),
      /Cannot verify ".*\/spec\/unsigned:v1" with Docker Content Trust/,
    );
    const reporter = recordingReporter();
    const none = await verifySpecTrust([...refs, `${h}/spec/unsigned:v1`], {
      ...base,
      trust: { org: [`${h}/spec`] },
      disableContentTrust: true,
      reporter,
    });
    assert.equal(none.size, 0);
    assert.deepEqual(
      reporter.events.filter((e) => e.type === 'warn').map((e) => (e as { message: string }).message),
      [
        `content trust DISABLED: "${h}/spec/signed:v1" is in trust: but is pulled WITHOUT verification (--disable-content-trust)`,
        `content trust DISABLED: "${h}/spec/unsigned:v1" is in trust: but is pulled WITHOUT verification (--disable-content-trust)`,
      ],
    );
  });
});
