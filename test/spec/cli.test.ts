// `mobyts validate` as users run it: exit codes, what goes to stdout and stderr, stdin, and no stack traces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function mobyts(args: string[], input?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['bin/mobyts.js', ...args], { cwd: root }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : Number((err as { code?: number }).code), stdout, stderr });
    });
    child.stdin?.end(input ?? '');
  });
}

void test('a valid spec: exit 0, "FILE: valid" on stdout, nothing on stderr', async () => {
  assert.deepEqual(await mobyts(['validate', 'examples/minimal.yml']), {
    code: 0,
    stdout: 'examples/minimal.yml: valid\n',
    stderr: '',
  });
});

void test('several files are one merged build; --each checks them one by one', async () => {
  const files = ['examples/minimal.yml', 'examples/redis-os.yml'];
  assert.deepEqual(await mobyts(['validate', ...files]), {
    code: 1,
    stdout: '',
    stderr:
      'examples/redis-os.yml:15:11: services[0].name: duplicate service name "getty" (first defined at examples/minimal.yml:20:11)\n' +
      '1 problem in examples/minimal.yml, examples/redis-os.yml\n',
  });
  assert.deepEqual(await mobyts(['validate', '--each', ...files]), {
    code: 0,
    stdout: 'examples/minimal.yml: valid\nexamples/redis-os.yml: valid\n',
    stderr: '',
  });
});

void test('stdin with -: positions name <stdin>', async () => {
  const r = await mobyts(['validate', '-'], 'services:\n  - name: a\n    image: alpine\n    pid: 1\n');
  assert.deepEqual(r, {
    code: 1,
    stdout: '',
    stderr:
      '<stdin>:4:10: services[0].pid: expected a string, got the number 1\n  hint: quote it: "1"\n1 problem in <stdin>\n',
  });
});

void test('only warnings: exit 0, warnings on stderr', async () => {
  const r = await mobyts(
    ['validate', '-'],
    'services:\n  - name: a\n    image: alpine\n    binds: [/a:/a]\n    binds.add: [/b:/b]\n',
  );
  assert.deepEqual(r, {
    code: 0,
    stdout: '<stdin>: valid\n',
    stderr:
      '<stdin>:5:5: services[0].binds.add: warning: binds.add is ignored because binds is also set\n  hint: merge the lists into binds\n0 problems, 1 warning in <stdin>\n',
  });
});

void test('an unreadable file: exit 1, one clear line naming it, then the system error as its cause; no stack trace', async () => {
  assert.deepEqual(await mobyts(['validate', 'examples/minimal.yml', 'no/such.yml']), {
    code: 1,
    stdout: '',
    stderr:
      'Error: Cannot read spec "no/such.yml": no such file\ncaused by: ENOENT: no such file or directory, open \'no/such.yml\'\n',
  });
});

void test('usage errors exit 2', async () => {
  const none = await mobyts(['validate']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^error: missing required argument 'file'\n/);
  const flag = await mobyts(['validate', '--frobnicate', 'x.yml']);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /^error: unknown option '--frobnicate'\n/);
});

void test('help reads like a tool people know', async () => {
  const r = await mobyts(['validate', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: mobyts validate \[options\] <file\.\.\.>\n/);
  assert.match(r.stdout, /Exit status: 0 valid \(warnings allowed\), 1 invalid or unreadable spec, 2 usage error\./);
});

void test('build --dry-run prints the spec and output files, exit 0', async (t) => {
  const cache = await mkdtemp(join(tmpdir(), 'mobyts-cli-cache-'));
  t.after(() => rm(cache, { recursive: true, force: true }));
  const r = await mobyts([
    'build',
    '--dry-run',
    '--cache',
    cache,
    '--format',
    'kernel+initrd,iso-efi',
    '--name',
    'os',
    '--dir',
    'out',
    'examples/redis-os.yml',
  ]);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^kernel:\n {2}image: docker\.io\/linuxkit\/kernel:6\.6\.71\n/);
  assert.match(r.stdout, /\n {4}image: docker\.io\/library\/redis:7\.4-alpine\n/);
  assert.ok(
    r.stdout.includes(
      '# outputs:\n#   out/os-kernel\n#   out/os-initrd.img\n#   out/os-cmdline\n#   out/os-efi.iso\n# plan (linux/amd64):\n',
    ),
    r.stdout,
  );
  // an empty cache and no --pull: the plan names each image and says the build pulls it, asking no registry
  assert.match(
    r.stdout,
    /\n# {5}docker\.io\/library\/redis:7\.4-alpine \(linux\/amd64\): not in the cache: the build pulls it \(--pull resolves it now\); trust=none\n/,
  );
  assert.match(
    r.stdout,
    /\n# {3}services: getty \(docker\.io\/linuxkit\/getty:[0-9a-f]{40}\), redis \(docker\.io\/library\/redis:7\.4-alpine\)\n/,
  );
});

void test('@pkg: templates must name a package directory (with build.yml)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mobyts-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'pkg', 'hello'), { recursive: true });
  await writeFile(join(dir, 'pkg', 'hello', 'build.yml'), 'image: hello\n');
  const spec = join(dir, 'spec.yml');
  await writeFile(
    spec,
    'onboot:\n  - name: a\n    image: "@pkg:./pkg/hello"\n  - name: b\n    image: "@pkg:./pkg/nope"\n',
  );
  assert.deepEqual(await mobyts(['validate', spec]), {
    code: 1,
    stdout: '',
    stderr:
      `${spec}:5:12: onboot[1].image: cannot resolve template "@pkg:./pkg/nope"\n` +
      '  hint: the path must be a package directory (with build.yml) relative to the spec\n' +
      `1 problem in ${spec}\n`,
  });
});
