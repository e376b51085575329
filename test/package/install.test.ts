// The package as published: `npm pack` of a copy of the checkout (prepack builds dist/), the tarball
// installed with `npm install -g --prefix`, and from then on only the installed copy runs — its `mobyts`
// binary, its shipped examples — with the checkout out of reach (cwd and inputs are in a temp dir). The
// example packages are built and pushed to a real registry on 127.0.0.1, and examples/hello.yml is built once
// from the cache (@pkg:) and once pulling the pushed images into an empty cache: the two builds are identical.
// `npx` of the tarball runs the same CLI: --version, validate of a shipped example, the usage error of an unknown
// format, and the same build from the cache, byte for byte. A load hook shows each command loads only what it
// needs (no argument parser for --version, no schema validators for --help, no registry client for validate).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const REPO = resolve(import.meta.dirname, '../..');
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
/** Node 24 (the test runner's) first, so `#!/usr/bin/env node` and npm run on a Node mobyts supports. */
const PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<Run> {
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, PATH, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((res, rej) => {
    child.once('error', rej);
    child.once('close', (code) => res({ code, stdout, stderr }));
  });
}

async function ok(cmd: string, args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<Run> {
  const r = await run(cmd, args, opts);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-4000)}`);
  return r;
}

interface PackedFile {
  path: string;
  mode: number;
}

void describe('the npm package, installed with npm install -g', { timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mobyts-package-'));
  const prefix = join(dir, 'prefix');
  const work = join(dir, 'work');
  const installed = join(prefix, 'lib/node_modules/mobyts');
  const mobyts = join(prefix, 'bin/mobyts');
  let tarball = '';
  let packed: PackedFile[] = [];
  let reg: TestRegistry | undefined;
  /** A private npm cache: npx installs the tarball there (it has no dependencies to fetch). */
  const npxEnv = { npm_config_cache: join(dir, 'npx-cache'), npm_config_update_notifier: 'false' };
  const npx = (args: string[]): Promise<Run> =>
    run('npx', ['--yes', '--package', tarball, '--', 'mobyts', ...args], { cwd: work, env: npxEnv });

  // A load hook in the installed CLI's process records every file it loads; a chunk is recognised by its name
  // (esbuild names a lazily imported module's chunk after it) or by a string only that code contains.
  const MARKS = { commander: 'commander.unknownCommand', validators: 'schemaPath', undici: 'UND_ERR' } as const;
  const loads = async (args: string[]): Promise<{ names: string[]; has: Set<keyof typeof MARKS>; stderr: string }> => {
    const hook = join(dir, 'record-loads.mjs');
    writeFileSync(
      hook,
      "import { registerHooks } from 'node:module';\nimport { writeFileSync } from 'node:fs';\nconst seen = [];\n" +
        "registerHooks({ load(url, context, next) { if (url.startsWith('file:')) seen.push(url); return next(url, context); } });\n" +
        "process.on('exit', () => writeFileSync(process.env.LOADED_LIST, seen.join('\\n')));\n",
    );
    const list = join(dir, 'loaded.txt');
    const cli = join(installed, 'bin/mobyts.js');
    const r = await ok(process.execPath, ['--import', hook, cli, ...args], { cwd: work, env: { LOADED_LIST: list } });
    const files = readFileSync(list, 'utf8')
      .split('\n')
      .map((u) => fileURLToPath(u));
    assert.ok(
      files.every((f) => f.startsWith(installed + '/')),
      `only the installed copy runs:\n${files.join('\n')}`,
    );
    const text = files.map((f) => readFileSync(f, 'utf8')).join('\n');
    const has = new Set((Object.keys(MARKS) as Array<keyof typeof MARKS>).filter((k) => text.includes(MARKS[k])));
    return {
      names: files.map((f) => f.slice(installed.length + 1).replace(/-[A-Z0-9]{8}\.js$/, '-*.js')),
      has,
      stderr: r.stderr,
    };
  };

  before(async () => {
    // Pack a copy (tracked and untracked-but-not-ignored files, as a clean checkout has them): prepack writes
    // dist/ there, never into this checkout, whose bin/mobyts.js would prefer it to the sources.
    const copy = join(dir, 'checkout');
    const files = execFileSync('git', ['ls-files', '-z', '-co', '--exclude-standard'], { cwd: REPO, encoding: 'utf8' })
      .split('\0')
      .filter((f) => f !== '' && f !== 'node_modules' && f !== '.tools' && existsSync(join(REPO, f)));
    for (const f of files) cpSync(join(REPO, f), join(copy, f), { recursive: true, verbatimSymlinks: true });
    symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules')); // esbuild for prepack
    const r = await ok('npm', ['pack', '--json', '--pack-destination', dir], { cwd: copy });
    const json = JSON.parse(r.stdout.slice(r.stdout.indexOf('[\n'))) as Array<{
      filename: string;
      files: PackedFile[];
    }>;
    tarball = join(dir, json[0]?.filename ?? '');
    packed = json[0]?.files ?? [];
    assert.equal(existsSync(join(copy, 'dist')), false, 'postpack removes dist/ from the checkout it packed');
    await ok('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', tarball], {
      cwd: dir,
    });
    execFileSync('mkdir', ['-p', work]);
  });
  after(async () => {
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  void test('the tarball holds dist, bin, schema, kernel-configs, examples, README, LICENSE and nothing else', () => {
    const top = [...new Set(packed.map((f) => f.path.split('/')[0]))].sort();
    assert.deepEqual(top, [
      'LICENSE',
      'README.md',
      'bin',
      'dist',
      'examples',
      'kernel-configs',
      'package.json',
      'schema',
    ]);
    const paths = packed.map((f) => f.path);
    assert.deepEqual(
      paths.filter((p) => /\.test\.|\.ts$|\.map$/.test(p)),
      [],
      'no tests, sources or source maps',
    );
    for (const p of [
      'bin/mobyts.js',
      'dist/cli/main.js',
      'dist/THIRD-PARTY-NOTICES.txt',
      'schema/moby.schema.json',
      'kernel-configs/virtio.config',
      'examples/hello.yml',
      'examples/packages/kernel/build.yml',
      'examples/packages/init/contents/init',
    ]) {
      assert.ok(paths.includes(p), `${p} is packed`);
    }
    // One bundle (docs/architecture.md#package): every chunk in dist/cli/, none of the sources' tree.
    assert.deepEqual(
      paths.filter((p) => p.startsWith('dist/') && !/^dist\/cli\/[^/]+\.js$/.test(p)),
      ['dist/THIRD-PARTY-NOTICES.txt'],
    );
    const mode = (p: string): number | undefined => packed.find((f) => f.path === p)?.mode;
    assert.equal(mode('bin/mobyts.js'), 0o755);
    assert.equal(mode('examples/packages/kernel/prepare.sh'), 0o755);
  });

  void test('the installed package runs no install scripts, installs no dependencies and declares Node >= 22.19', () => {
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
      engines?: { node?: string };
      dependencies?: object;
    };
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) assert.equal(pkg.scripts?.[s], undefined, s);
    assert.equal(pkg.engines?.node, '>=22.19');
    assert.equal(pkg.dependencies, undefined, 'dist/ bundles what the CLI imports');
    assert.equal(existsSync(join(installed, 'src')), false);
    assert.equal(existsSync(join(installed, 'node_modules')), false);
    const notices = readFileSync(join(installed, 'dist/THIRD-PARTY-NOTICES.txt'), 'utf8');
    for (const dep of ['commander', 'undici', 'yaml'])
      assert.match(notices, new RegExp(`^${dep} \\d+\\.\\d+\\.\\d+ \\((MIT|ISC)\\)$`, 'm'));
  });

  void test('mobyts --version and mobyts version from the installed copy', async () => {
    assert.equal((await ok(mobyts, ['--version'], { cwd: work })).stdout, `${VERSION}\n`);
    const v = await ok(mobyts, ['version'], { cwd: work });
    assert.match(
      v.stdout,
      new RegExp(
        `^mobyts ${VERSION.replaceAll('.', '\\.')}\nnode ${process.version.replaceAll('.', '\\.')} linux/x64\nhost tools:\n`,
      ),
    );
    assert.match(v.stdout, /\n {2}xorriso +\d+\.\d+\S* +\/\S+\/xorriso\n/);
  });

  void test('on Node older than 22.19 the installed CLI says so in one line and exits 1', async (t) => {
    const old = '/usr/bin/node';
    const version = existsSync(old) ? execFileSync(old, ['--version'], { encoding: 'utf8' }).trim() : '';
    const [major = 99, minor = 99] = version.slice(1).split('.').map(Number);
    if (version === '' || major > 22 || (major === 22 && minor >= 19))
      return t.skip(`no Node older than 22.19 at ${old} (${version || 'none'})`);
    const r = await run(old, [join(installed, 'bin/mobyts.js'), 'validate', 'x.yml'], { cwd: work });
    assert.deepEqual(
      [r.code, r.stdout, r.stderr],
      [1, '', `mobyts needs Node.js 22.19 or newer; this is ${version}\n`],
    );
  });

  void test('validate of a shipped example', async () => {
    const spec = join(installed, 'examples/minimal.yml');
    assert.equal((await ok(mobyts, ['validate', spec], { cwd: work })).stdout, `${spec}: valid\n`);
  });

  void test('npx from the tarball runs the same CLI: --version, validate of a shipped example, a usage error', async () => {
    const version = await npx(['--version']);
    assert.deepEqual([version.code, version.stdout], [0, `${VERSION}\n`], version.stderr);
    const minimal = join(installed, 'examples/minimal.yml');
    const valid = await npx(['validate', minimal]);
    assert.deepEqual([valid.code, valid.stdout], [0, `${minimal}: valid\n`], valid.stderr);
    const spec = join(installed, 'examples/hello.yml');
    const r = await npx(['build', '-f', 'iso-foo', spec]);
    assert.deepEqual(
      [r.code, r.stderr.split('\n')[0]],
      [2, 'Error: Cannot build format "iso-foo": unknown format (did you mean "iso-bios"?)'],
    );
  });

  void test('each command loads only what it needs: --version no argument parser, --help no schema validators, validate no registry client or build', async () => {
    const version = await loads(['--version']);
    assert.deepEqual(version.has, new Set());
    assert.deepEqual(
      version.names.filter((n) => !n.startsWith('dist/cli/chunk-')),
      ['bin/mobyts.js', 'dist/cli/main.js', 'dist/cli/version-*.js'],
    );

    const help = await loads(['build', '--help']);
    assert.deepEqual(help.has, new Set(['commander']));

    const validate = await loads(['validate', join(installed, 'examples/minimal.yml')]);
    assert.deepEqual(validate.has, new Set(['commander', 'validators']));
    assert.deepEqual(
      validate.names.filter((n) => !n.startsWith('dist/cli/chunk-')),
      [
        'bin/mobyts.js',
        'dist/cli/main.js',
        'dist/cli/program-*.js',
        'dist/cli/validate-*.js',
        'dist/cli/run-validate-*.js',
      ],
    );
  });

  void test("pkg build --push of hello.yml's packages to a registry on 127.0.0.1, then build from the cache and from the registry; the same build again loads no spec parser", async () => {
    reg = await startRegistry();
    // The shipped examples, with the packages' org naming the local registry (as a user publishing them would).
    const examples = join(work, 'examples');
    cpSync(join(installed, 'examples'), examples, { recursive: true });
    for (const p of readdirSync(join(examples, 'packages'))) {
      const file = join(examples, 'packages', p, 'build.yml');
      const text = readFileSync(file, 'utf8');
      assert.match(text, /^org: mobyts$/m);
      writeFileSync(file, text.replace(/^org: mobyts$/m, `org: ${reg.host}/mobyts`));
    }
    const cache = join(work, 'cache');
    const pkgs = ['kernel', 'init', 'hello', 'getty'].map((p) => join(examples, 'packages', p));
    const built = await ok(
      mobyts,
      ['pkg', 'build', '--cache', cache, '--push', '--insecure-registry', reg.host, ...pkgs],
      { cwd: work },
    );
    const refs = built.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '');
    assert.deepEqual(
      refs.map((r) => r.replace(/:[0-9a-f]{40}$/, '')),
      ['kernel', 'init', 'hello', 'getty'].map((p) => `${reg?.host}/mobyts/${p}`),
    );

    const fromCache = join(work, 'out-cache');
    await ok(mobyts, ['build', '--cache', cache, '-d', fromCache, join(examples, 'hello.yml')], { cwd: work });
    assert.deepEqual(readdirSync(fromCache).sort(), ['hello-cmdline', 'hello-initrd.img', 'hello-kernel']);
    assert.equal(
      readFileSync(join(fromCache, 'hello-cmdline'), 'utf8'),
      'console=ttyS0 console=ttyAMA0 quiet panic=-1 mobyts.poweroff=1',
    );
    // npx from the tarball builds the same bytes from the same cache.
    const viaNpx = join(work, 'out-npx');
    const n = await npx(['build', '--cache', cache, '-d', viaNpx, join(examples, 'hello.yml')]);
    assert.equal(n.code, 0, n.stderr.slice(-4000));
    assert.deepEqual(readdirSync(viaNpx).sort(), readdirSync(fromCache).sort());
    for (const f of readdirSync(fromCache))
      assert.ok(
        readFileSync(join(viaNpx, f)).equals(readFileSync(join(fromCache, f))),
        `${f}: npx build = installed build`,
      );

    // The same spec naming the pushed images: an empty cache, so every image is pulled from the registry.
    const [kernel, init, hello, getty] = refs;
    const spec = readFileSync(join(examples, 'hello.yml'), 'utf8')
      .replaceAll('"@pkg:./packages/kernel"', `"${kernel}"`)
      .replaceAll('"@pkg:./packages/init"', `"${init}"`)
      .replaceAll('"@pkg:./packages/hello"', `"${hello}"`)
      .replaceAll('"@pkg:./packages/getty"', `"${getty}"`);
    assert.doesNotMatch(spec, /@pkg:/);
    writeFileSync(join(work, 'hello.yml'), spec);
    const fromRegistry = join(work, 'out-registry');
    const fromRegistryArgs = [
      'build',
      '--cache',
      join(work, 'empty-cache'),
      '--insecure-registry',
      reg.host,
      '-d',
      fromRegistry,
      join(work, 'hello.yml'),
    ];
    await ok(mobyts, fromRegistryArgs, { cwd: work });
    // The same build again: nothing changed, so it stops before the spec parser, the schema validators or the
    // registry client are even loaded (docs/formats.md#up-to-date).
    const again = await loads(fromRegistryArgs);
    assert.equal(
      again.stderr,
      'Nothing changed since the last build:\n  hello-kernel hello-initrd.img hello-cmdline\n',
    );
    assert.deepEqual(again.has, new Set(['commander']));
    for (const f of ['hello-kernel', 'hello-initrd.img', 'hello-cmdline']) {
      assert.ok(
        readFileSync(join(fromRegistry, f)).equals(readFileSync(join(fromCache, f))),
        `${f}: pulled build = cached build`,
      );
    }

    // The cache commands from the bundle: export an image, import it into another cache.
    const archive = join(work, 'hello.tar');
    await ok(mobyts, ['cache', 'export', '--cache', cache, '-o', archive, hello ?? ''], { cwd: work });
    const imported = await ok(mobyts, ['cache', 'import', '--cache', join(work, 'imported'), archive], { cwd: work });
    assert.equal(imported.stdout, `Imported ${hello}\n`);
  });
});
