// What an npm user expects of the CLI, run as users run it (bin/mobyts.js as a child): completion scripts that
// bash, zsh and fish really complete with, did-you-mean for commands and formats, and an example in every --help.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { allFormats } from '../../src/outputs/index.ts';

const FORMAT_NAMES = allFormats().map((f) => f.name);

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd ?? root, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : Number((err as { code?: number }).code), stdout, stderr });
    });
  });
}

const mobyts = (args: string[]): Promise<Result> => exec(process.execPath, ['bin/mobyts.js', ...args]);

/** The words bash completes for the command line `words` (the last one being completed), with the script sourced. */
async function bashComplete(script: string, words: string[]): Promise<string[]> {
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const r = await exec('bash', [
    '-c',
    `source "$1"; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _mobyts; printf '%s\\n' "\${COMPREPLY[@]}"; complete -p mobyts`,
    'bash',
    script,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  assert.equal(lines.pop(), 'complete -o default -F _mobyts mobyts');
  return lines;
}

void test('bash completion: subcommands, nested subcommands, flags, and -f formats (also after a comma)', async (t) => {
  const r = await mobyts(['completion', 'bash']);
  assert.equal(r.code, 0, r.stderr);
  const dir = await mkdtemp(join(tmpdir(), 'mobyts-completion-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const script = join(dir, 'mobyts.bash');
  await writeFile(script, r.stdout);

  assert.deepEqual(await bashComplete(script, ['mobyts', '']), [
    'build',
    'validate',
    'run',
    'lock',
    'trust',
    'pkg',
    'cache',
    'push',
    'pull',
    'completion',
    'version',
  ]);
  assert.deepEqual(await bashComplete(script, ['mobyts', 'v']), ['validate', 'version']);
  assert.deepEqual(await bashComplete(script, ['mobyts', '-v', '2', 'cache', '']), [
    'ls',
    'pull',
    'rm',
    'clean',
    'verify',
    'export',
    'push',
    'import',
  ]);
  assert.deepEqual(await bashComplete(script, ['mobyts', 'pkg', 'b']), ['build']);
  assert.deepEqual(await bashComplete(script, ['mobyts', 'build', '-f', '']), FORMAT_NAMES);
  assert.deepEqual(await bashComplete(script, ['mobyts', 'build', '--format', 'iso']), [
    'iso-bios',
    'iso-efi',
    'iso-efi-initrd',
  ]);
  assert.deepEqual(await bashComplete(script, ['mobyts', 'build', '-f', 'kernel+initrd,qcow2-']), [
    'kernel+initrd,qcow2-bios',
    'kernel+initrd,qcow2-efi',
  ]);
  assert.deepEqual(await bashComplete(script, ['mobyts', 'build', '--compress', '']), ['gzip', 'zstd', 'none']);
  assert.deepEqual(await bashComplete(script, ['mobyts', 'run', 'qemu', '--acc']), ['--accel']);
  assert.deepEqual(await bashComplete(script, ['mobyts', 'validate', '--e']), ['--each']);
  // A file argument or a flag value without a fixed set: nothing from mobyts, so bash falls back to file names.
  assert.deepEqual(await bashComplete(script, ['mobyts', 'build', '--cache', '']), []);
  assert.deepEqual(await bashComplete(script, ['mobyts', 'build', '-f', 'tar', 'exa']), []);
});

void test('zsh completion: the script registers _mobyts through bashcompinit, and zsh gets the same candidates', async (t) => {
  const r = await mobyts(['completion', 'zsh']);
  assert.equal(r.code, 0, r.stderr);
  const dir = await mkdtemp(join(tmpdir(), 'mobyts-completion-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const script = join(dir, 'mobyts.zsh');
  await writeFile(script, r.stdout);
  // zsh filters the candidates by the typed prefix itself (compadd), so compare after the same filtering.
  const complete = async (words: string[]): Promise<string[]> => {
    const quoted = words.map((w) => `'${w}'`).join(' ');
    const z = await exec(
      'zsh',
      [
        '-fc',
        `source "$1"; print -r -- "$_comps[mobyts]"; local -a COMP_WORDS; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; emulate -L sh; _mobyts; print -rl -- "\${COMPREPLY[@]}"`,
        'zsh',
        script,
      ],
      { cwd: dir },
    );
    assert.equal(z.code, 0, z.stderr);
    const [registered, ...candidates] = z.stdout.split('\n').filter((l) => l !== '');
    assert.equal(registered, '_bash_complete -o default -F _mobyts');
    return candidates.filter((c) => c.startsWith(words.at(-1) ?? ''));
  };
  assert.deepEqual(await complete(['mobyts', 'v']), ['validate', 'version']);
  assert.deepEqual(await complete(['mobyts', '-v', '2', 'cache', 'e']), ['export']);
  assert.deepEqual(await complete(['mobyts', 'build', '-f', 'kernel+initrd,qcow2-']), [
    'kernel+initrd,qcow2-bios',
    'kernel+initrd,qcow2-efi',
  ]);
});

void test('fish completion: fish completes commands, subcommands, flags and formats from the script', async (t) => {
  const r = await mobyts(['completion', 'fish']);
  assert.equal(r.code, 0, r.stderr);
  const dir = await mkdtemp(join(tmpdir(), 'mobyts-completion-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const script = join(dir, 'mobyts.fish');
  await writeFile(script, r.stdout);
  const complete = async (line: string): Promise<string[]> => {
    const f = await exec('fish', ['--no-config', '-c', `source $argv[1]; complete -C '${line}'`, script], { cwd: dir });
    assert.equal(f.code, 0, f.stderr);
    return f.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('\t')[0] ?? '');
  };
  assert.deepEqual(await complete('mobyts bu'), ['build']);
  assert.deepEqual(await complete('mobyts -v 2 pkg '), ['build', 'push', 'show-tag']);
  assert.deepEqual(await complete('mobyts build -f iso'), ['iso-bios', 'iso-efi', 'iso-efi-initrd']);
  assert.deepEqual(await complete('mobyts run qemu --acc'), ['--accel']);
});

void test('an unknown completion shell is a usage error', async () => {
  assert.deepEqual(await mobyts(['completion', 'tcsh']), {
    code: 2,
    stdout: '',
    stderr: 'Error: Cannot write completion for "tcsh": unknown shell\nhint: choose from bash, zsh, fish\n',
  });
});

void test('push --spec with an invalid spec prints its problems as validate does and exits 1 before any push', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mobyts-push-spec-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const spec = join(dir, 'bad.yml');
  await writeFile(spec, 'onboot:\n  - name: x\n    image: linuxkit/x:v1\n    capabilities: [CAP_NET_ADMN]\n');
  await writeFile(join(dir, 'os-kernel'), 'k');
  const problems = `${spec}:4:20: onboot[0].capabilities[0]: unknown capability "CAP_NET_ADMN" (did you mean "CAP_NET_ADMIN"?)\n1 problem in ${spec}\n`;
  assert.deepEqual(await mobyts(['validate', spec]), { code: 1, stdout: '', stderr: problems });
  // port 1 of the loopback: a push attempt would fail with a connection error, not these lines
  assert.deepEqual(await mobyts(['push', '--spec', spec, '127.0.0.1:1/os/x:1', join(dir, 'os-kernel')]), {
    code: 1,
    stdout: '',
    stderr: problems,
  });
});

void test('did you mean: an unknown command or subcommand, an unknown format', async () => {
  assert.deepEqual(await mobyts(['buidl', 'x.yml']), {
    code: 2,
    stdout: '',
    stderr: "error: unknown command 'buidl'\n(Did you mean build?)\n(run with --help for usage)\n",
  });
  assert.deepEqual(await mobyts(['cache', 'lss']), {
    code: 2,
    stdout: '',
    stderr: "error: unknown command 'lss'\n(Did you mean ls?)\n(run with --help for usage)\n",
  });
  // Before the spec is read: hello.yml's @pkg: packages are not built here, and that must not matter.
  const r = await mobyts(['build', '-f', 'iso-foo', 'examples/hello.yml']);
  assert.deepEqual(
    [r.code, r.stdout, r.stderr.split('\n')[0]],
    [2, '', 'Error: Cannot build format "iso-foo": unknown format (did you mean "iso-bios"?)'],
  );
  const far = await mobyts(['build', '-f', 'floppy', 'examples/hello.yml']);
  assert.deepEqual(
    [far.code, far.stderr],
    [2, `Error: Cannot build format "floppy": unknown format\nhint: formats: ${FORMAT_NAMES.join(', ')}\n`],
  );
});

void test('--help of every command and subcommand ends with an example of that command', async () => {
  const { createProgram } = await import('../../src/cli/program.ts');
  const { createReporter } = await import('../../src/cli/reporter.ts');
  const ctx = {
    stdout: process.stdout,
    stderr: process.stderr,
    signal: new AbortController().signal,
    reporter: createReporter(process.stderr, { mode: 'plain', quiet: true, verbose: 0 }),
    setExitCode: () => undefined,
  };
  const paths: string[][] = [];
  const walk = (cmd: Command, path: string[]): void => {
    for (const c of cmd.commands) {
      paths.push([...path, c.name()]);
      walk(c, [...path, c.name()]);
    }
  };
  walk(await createProgram(ctx, 'all'), []);
  assert.ok(paths.length >= 20, `${paths.length} commands`);
  const top = await mobyts(['--help']);
  assert.match(top.stdout, /\nExamples:\n {2}\$ mobyts build -d out examples\/hello\.yml\n/);
  for (const path of paths) {
    const r = await mobyts([...path, '--help']);
    assert.equal(r.code, 0, `${path.join(' ')} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^Usage: mobyts ${path.join(' ')} `), path.join(' '));
    const block = r.stdout.slice(r.stdout.search(/\nExamples?:\n/));
    assert.ok(
      block.split('\n').some((l) => l.startsWith('  $ ') && new RegExp(`\\bmobyts ${path.join(' ')}\\b`).test(l)),
      `${path.join(' ')} --help has an example of itself:\n${r.stdout}`,
    );
  }
});

void test('mobyts version: mobyts, Node, and every host tool found or how to install it', async () => {
  const r = await mobyts(['version']);
  assert.equal(r.code, 0, r.stderr);
  const [first, second, third, ...tools] = r.stdout.trimEnd().split('\n');
  assert.match(first ?? '', /^mobyts \d+\.\d+\.\d+$/);
  assert.equal(second, `node ${process.version} ${process.platform}/${process.arch}`);
  assert.equal(third, 'host tools:');
  assert.ok(tools.length >= 20, r.stdout);
  const qemuImg = tools.find((l) => l.trimStart().startsWith('qemu-img '));
  assert.match(qemuImg ?? '', /^ {2}qemu-img +\d+\.\d+\.\d+\S* +\/\S+\/qemu-img$/);
  for (const line of tools)
    assert.match(line, /^ {2}\S+ +(?:found|missing \(apt-get install \S+.*\)|(?:\S+|version unknown) {2}\/\S+)$/, line);
});
