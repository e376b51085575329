// Loading several inputs: LinuxKit's merge, volumes from earlier files (LinuxKit's bug fixed), issues placed in
// the right file, stdin, http URLs, @pkg: templates through the hook, and unreadable inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isMobyError } from '../util/errors.ts';
import { renderIssues } from './issues.ts';
import { defaultName, loadSpecs } from './load.ts';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mobyts-spec-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const BASE = `kernel:
  image: linuxkit/kernel:6.6.71
  cmdline: console=ttyS0
  tar: none
init:
  - linuxkit/init:v1
volumes:
  - name: data
    readonly: true
onboot:
  - name: sysctl
    image: linuxkit/sysctl:v1
services:
  - name: getty
    image: linuxkit/getty:v1
`;

const OVERLAY = `kernel:
  image: linuxkit/kernel:6.12.1
  cmdline: ""
init:
  - linuxkit/runc:v1
services:
  - name: db
    image: redis:7
    uid: sysctl
    binds:
      - data:/data:ro
files:
  - path: etc/motd
    contents: hi
`;

void test('merges as LinuxKit: kernel fields replaced when set, lists concatenated, name from the last file', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'base.yml'), BASE);
  await writeFile(join(dir, 'extra.yaml'), OVERLAY);
  const loaded = await loadSpecs([join(dir, 'base.yml'), join(dir, 'extra.yaml')]);
  assert.equal(renderIssues(loaded.issues), '');
  assert.equal(loaded.name, 'extra');
  assert.deepEqual(loaded.spec.kernel, { image: 'linuxkit/kernel:6.12.1', cmdline: 'console=ttyS0', tar: 'none' });
  assert.deepEqual(loaded.spec.init, ['linuxkit/init:v1', 'linuxkit/runc:v1']);
  assert.deepEqual(
    loaded.spec.services?.map((s) => s.name),
    ['getty', 'db'],
  );
  assert.deepEqual(
    loaded.spec.volumes?.map((v) => v.name),
    ['data'],
  );
  assert.deepEqual(loaded.spec.files, [{ path: 'etc/motd', contents: 'hi' }]);
  assert.deepEqual(
    loaded.sources.map((s) => s.file),
    [join(dir, 'base.yml'), join(dir, 'extra.yaml')],
  );
});

void test('cross-file problems point into the file that has them', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'a.yml'), BASE);
  await writeFile(
    join(dir, 'b.yml'),
    'services:\n  - name: getty\n    image: linuxkit/getty:v2\n    binds: [data:/data]\n',
  );
  const loaded = await loadSpecs([join(dir, 'a.yml'), join(dir, 'b.yml')]);
  const b = join(dir, 'b.yml');
  assert.equal(
    renderIssues(loaded.issues),
    `${b}:2:11: services[0].name: duplicate service name "getty" (first defined at ${join(dir, 'a.yml')}:14:11)\n` +
      `${b}:4:13: services[0].binds[0]: volume "data" is read-only, but attempting to write into container read-write\n` +
      '  hint: bind it read-only, e.g. "data:/dest:ro"\n',
  );
});

void test('reads - from stdin and names the output moby', async () => {
  const loaded = await loadSpecs(['-'], {
    stdin: Readable.from([Buffer.from('init:\n  - linuxkit/init:v1\n  - BAD\n')]),
  });
  assert.equal(loaded.name, 'moby');
  assert.equal(
    renderIssues(loaded.issues),
    '<stdin>:3:5: init[1]: invalid image reference "BAD": "BAD" has upper-case letters (repository names must be lower case)\n' +
      '  hint: write it as [registry[:port]/]repository[:tag][@sha256:digest], e.g. "linuxkit/init:v1.0.0"\n',
  );
});

void test('fetches http URLs; positions refer to the URL; HTTP errors name it', async (t) => {
  const server = createServer((req, res) => {
    if (req.url === '/specs/web.yml') res.end('services:\n  - name: web\n    image: nginx:alpine\n    net: [host]\n');
    else {
      res.statusCode = 404;
      res.end('no');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const loaded = await loadSpecs([`${base}/specs/web.yml`]);
  assert.equal(loaded.name, 'web');
  assert.equal(
    renderIssues(loaded.issues),
    `${base}/specs/web.yml:4:10: services[0].net: expected a string, got a list\n`,
  );
  await assert.rejects(loadSpecs([`${base}/missing.yml`]), (err: unknown) => {
    assert.ok(isMobyError(err));
    assert.equal(err.message, `Cannot fetch spec "${base}/missing.yml": HTTP 404 Not Found`);
    assert.equal(err.exitCode, 1);
    return true;
  });
});

void test('an unreadable file is a MobyError naming it (exit code 1)', async (t) => {
  const dir = await tempDir(t);
  await assert.rejects(loadSpecs([join(dir, 'nope.yml')]), {
    message: `Cannot read spec "${join(dir, 'nope.yml')}": no such file`,
    exitCode: 1,
  });
  await assert.rejects(loadSpecs([dir]), { message: `Cannot read spec "${dir}": it is a directory` });
});

void test('@pkg: templates go through the hook with the spec directory; unresolved ones are issues', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'pkg.yml');
  await writeFile(
    file,
    'onboot:\n  - name: hello\n    image: "@pkg:./hello"\n  - name: bye\n    image: "@pkg:./bye"\nservices:\n  - name: again\n    image: "@pkg:./hello"\n',
  );
  const calls: [string, string][] = [];
  const loaded = await loadSpecs([file], {
    resolveTemplate: (value, baseDir) => {
      calls.push([value, baseDir]);
      return Promise.resolve(value === '@pkg:./hello' ? 'linuxkit/hello:0123abcd' : undefined);
    },
  });
  assert.deepEqual(
    calls,
    [
      ['@pkg:./hello', dir],
      ['@pkg:./bye', dir],
    ],
    'once per distinct template',
  );
  assert.equal(loaded.spec.onboot?.[0]?.image, 'linuxkit/hello:0123abcd');
  assert.equal(loaded.spec.services?.[0]?.image, 'linuxkit/hello:0123abcd');
  assert.equal(
    renderIssues(loaded.issues),
    `${file}:5:12: onboot[1].image: cannot resolve template "@pkg:./bye"\n` +
      '  hint: the path must be a package directory (with build.yml) relative to the spec\n',
  );
});

void test('without a hook @pkg: templates stay literal and are not reported', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'pkg.yml');
  await writeFile(file, 'onboot:\n  - name: hello\n    image: "@pkg:./hello"\n');
  const loaded = await loadSpecs([file]);
  assert.equal(renderIssues(loaded.issues), '');
  assert.equal(loaded.spec.onboot?.[0]?.image, '@pkg:./hello');
});

void test('default names', () => {
  assert.equal(defaultName(['a/b/linuxkit.yml']), 'linuxkit');
  assert.equal(defaultName(['x.yml', 'dir/last.yaml']), 'last');
  assert.equal(defaultName(['x.yml', '-']), 'moby');
  assert.equal(defaultName(['https://example.com/specs/redis-os.yml?x=1']), 'redis-os');
  assert.equal(defaultName(['noext']), 'noext');
});

void test('an unreachable URL is a MobyError naming it, the refused connection as its cause', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await assert.rejects(loadSpecs([`http://127.0.0.1:${port}/x.yml`]), (err: unknown) => {
    assert.ok(isMobyError(err));
    assert.equal(err.message, `Cannot fetch spec "http://127.0.0.1:${port}/x.yml"`);
    assert.equal((err.cause as Error).message, `connect ECONNREFUSED 127.0.0.1:${port}`);
    return true;
  });
});
