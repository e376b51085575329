/**
 * A build's outputs as one OCI artifact in the REAL registry: `build --push`, `push`, `pull`, and what an
 * independent client (skopeo, plain HTTP against the distribution API) gets back, byte for byte.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { startFixture, runCli, type Fixture } from '../pipeline/fixture.ts';
import { startFaultProxy } from '../helpers/fault-proxy.ts';

let f: Fixture;
let spec: string;

const SPEC = `
kernel:
  image: HOST/test/kernel:1
  cmdline: "console=ttyS0"
init:
  - HOST/test/init:1
files:
  - path: etc/greeting
    contents: "hello"
`;

before(async () => {
  f = await startFixture();
  spec = await f.spec('hello.yml', SPEC);
});
after(() => f.cleanup());

const mobyts = (args: string[]) => runCli(args, { cwd: f.dir, home: join(f.dir, 'home') });

async function manifestOf(repoTag: string): Promise<{
  bytes: Buffer;
  json: {
    artifactType: string;
    config: { mediaType: string; digest: string; size: number };
    layers: Array<{ mediaType: string; digest: string; size: number; annotations: Record<string, string> }>;
    annotations: Record<string, string>;
  };
}> {
  const [repo, tag] = repoTag.split(':');
  const res = await request(`${f.reg.url}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  assert.equal(res.statusCode, 200);
  const bytes = Buffer.from(await res.body.arrayBuffer());
  return { bytes, json: JSON.parse(bytes.toString()) as never };
}

async function blob(repo: string, digest: string): Promise<Buffer> {
  const res = await request(`${f.reg.url}/v2/${repo}/blobs/${digest}`, { maxRedirections: 0 } as never);
  assert.equal(res.statusCode, 200);
  return Buffer.from(await res.body.arrayBuffer());
}

void test('build --push: one artifact whose titled layers are the output files, byte for byte (plain HTTP and skopeo)', async () => {
  const out = join(f.dir, 'out');
  const r = await f.cli(['-d', out, '-n', 'hello', '--push', `${f.host}/os/hello:1`, spec]);
  assert.equal(r.code, 0, r.stderr);
  const { bytes, json } = await manifestOf('os/hello:1');
  const digest = `sha256:${(await import('node:crypto')).createHash('sha256').update(bytes).digest('hex')}`;
  assert.equal(r.stdout.toString(), `${f.host}/os/hello:1@${digest}\n`);
  assert.equal(json.artifactType, 'application/vnd.mobyts.build.v1');
  assert.deepEqual(json.config, {
    mediaType: 'application/vnd.oci.empty.v1+json',
    digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
    size: 2,
  });
  const titles = json.layers.map((l) => l.annotations['org.opencontainers.image.title']);
  assert.deepEqual(titles, ['hello-kernel', 'hello-initrd.img', 'hello-cmdline', 'hello.spdx.json']);
  assert.equal(json.annotations['dev.mobyts.build.name'], 'hello');
  assert.match(json.annotations['dev.mobyts.spec.digest'] ?? '', /^sha256:[0-9a-f]{64}$/);
  for (const l of json.layers.slice(0, 3)) {
    assert.deepEqual(
      await blob('os/hello', l.digest),
      await readFile(join(out, l.annotations['org.opencontainers.image.title'] ?? '')),
    );
  }
  const sbom = JSON.parse((await blob('os/hello', json.layers[3]?.digest ?? '')).toString()) as { spdxVersion: string };
  assert.equal(json.layers[3]?.mediaType, 'application/spdx+json');
  assert.equal(sbom.spdxVersion, 'SPDX-2.3');

  // skopeo, an independent OCI client, copies it to an OCI layout: the same blobs
  const layout = join(f.dir, 'skopeo-layout');
  execFileSync(
    'skopeo',
    ['copy', '--quiet', '--src-tls-verify=false', `docker://${f.host}/os/hello:1`, `oci:${layout}:hello`],
    { stdio: 'pipe' },
  );
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string }>;
  };
  assert.equal(index.manifests[0]?.digest, digest, 'skopeo kept the manifest unchanged');
  for (const l of json.layers.slice(0, 3)) {
    const copied = await readFile(join(layout, 'blobs', 'sha256', l.digest.slice('sha256:'.length)));
    assert.deepEqual(copied, await readFile(join(out, l.annotations['org.opencontainers.image.title'] ?? '')));
  }

  // `mobyts push` of the same prefix with --spec records the same spec digest and the same layers
  const again = await mobyts(['push', '--spec', spec, `${f.host}/os/again:1`, join(out, 'hello')]);
  assert.equal(again.code, 0, again.stderr);
  const pushed = (await manifestOf('os/again:1')).json;
  assert.equal(pushed.annotations['dev.mobyts.spec.digest'], json.annotations['dev.mobyts.spec.digest']);
  assert.deepEqual(
    pushed.layers.map((l) => l.digest).sort(),
    json.layers
      .slice(0, 3)
      .map((l) => l.digest)
      .sort(),
  );

  // a warm rebuild replays cached sections: the SBOM is still attached, and the artifact is the same
  const warm = await f.cli(['-d', join(f.dir, 'warm'), '-n', 'hello', '--push', `${f.host}/os/warm:1`, spec]);
  assert.equal(warm.code, 0, warm.stderr);
  assert.equal(warm.stdout.toString(), `${f.host}/os/warm:1@${digest}\n`);

  // `mobyts pull` fetches them back, and removes what a pull killed while writing them left (its owner is gone)
  const back = join(f.dir, 'back');
  await mkdir(back);
  const dead = spawn(process.execPath, ['-e', '0']);
  await new Promise((res) => dead.once('close', res));
  const leftover = `.${titles[0] ?? ''}.tmp-${dead.pid ?? 0}-12345-0123456789ab`;
  await writeFile(join(back, leftover), 'partial');
  const p = await mobyts(['pull', `${f.host}/os/hello:1`, '-d', back]);
  assert.equal(p.code, 0, p.stderr);
  assert.ok(!(await readdir(back)).includes(leftover), `${leftover} swept`);
  assert.equal(p.stdout.toString(), titles.map((t) => `${join(back, t ?? '')}\n`).join(''));
  for (const t of titles.slice(0, 3))
    assert.deepEqual(await readFile(join(back, t ?? '')), await readFile(join(out, t ?? '')));
});

void test('pull verifies while streaming: a corrupted file fails the pull and writes nothing', async () => {
  const out = join(f.dir, 'out2');
  assert.equal((await f.cli(['-d', out, '-n', 'c', '--no-sbom', '--push', `${f.host}/os/corrupt:1`, spec])).code, 0);
  const proxy = await startFaultProxy(f.reg.url);
  try {
    proxy.add({ match: /\/blobs\/sha256:/, kind: 'corrupt', times: Infinity });
    const dest = join(f.dir, 'corrupt');
    await mkdir(dest);
    const r = await mobyts(['pull', `${proxy.host}/os/corrupt:1`, '-d', dest]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^Error: Cannot verify blob sha256:[0-9a-f]{64} \(file c-kernel of 127\.0\.0\.1:\d+\/os\/corrupt:1\): content has digest sha256:[0-9a-f]{64}, expected sha256:[0-9a-f]{64}\n/m,
    );
    assert.deepEqual(await readdir(dest), []);
  } finally {
    await proxy.stop();
  }
});

void test('push and pull refuse what they cannot do, with one readable message', async () => {
  const none = await mobyts(['push', `${f.host}/os/x:1`, join(f.dir, 'nothing-here')]);
  assert.equal(none.code, 1);
  assert.equal(
    none.stderr,
    `Error: Cannot push "${join(f.dir, 'nothing-here')}": it is neither a file nor the prefix of a build's outputs\nhint: build first, e.g. mobyts build -n nothing-here spec.yml\n`,
  );
  const stdout = await f.cli(['-o', '-', '--push', `${f.host}/os/x:1`, spec]);
  assert.equal(stdout.code, 2);
  assert.match(
    stdout.stderr,
    /^Error: Cannot use --push with -o -: the output goes to stdout, so there is no file to push\n/,
  );
  const image = await mobyts(['pull', `${f.host}/test/multi:1`, '-d', join(f.dir, 'img')]);
  assert.equal(image.code, 2);
  assert.match(image.stderr, /it is an image index, not an artifact of files/);
});
