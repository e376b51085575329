/** How spec problems reach the user: exact stderr text, and exit code 1 only for errors. */
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import { loadSpecs } from '../spec/load.ts';
import { silentReporter } from '../util/reporter.ts';
import type { CliContext } from './context.ts';
import { showIssues } from './show-issues.ts';

function capture(): { ctx: CliContext; err: () => string; code: () => number } {
  const stderr = new PassThrough();
  let e = '';
  let code = 0;
  stderr.on('data', (c: Buffer) => {
    e += c.toString();
  });
  const ctx: CliContext = {
    stdout: new PassThrough(),
    stderr,
    signal: new AbortController().signal,
    reporter: silentReporter,
    setExitCode: (c) => {
      code = c;
    },
  };
  return { ctx, err: () => e, code: () => code };
}

const stdin = (text: string): { stdin: Readable } => ({ stdin: Readable.from([text]) });

void test('errors: every problem, sorted by position, hints indented, then the summary; exit 1, the command stops', async () => {
  const loaded = await loadSpecs(
    ['-'],
    stdin(
      'onboot:\n  - name: x\n    image: alpine\n    capabilities: [CAP_NET_ADMN]\nfiles:\n  - path: etc/x\n    mode: 0644\n    contents: y\n',
    ),
  );
  const c = capture();
  assert.equal(showIssues(loaded, c.ctx), false);
  assert.equal(c.code(), 1);
  assert.equal(
    c.err(),
    [
      '<stdin>:4:20: onboot[0].capabilities[0]: unknown capability "CAP_NET_ADMN" (did you mean "CAP_NET_ADMIN"?)',
      '<stdin>:7:11: files[0].mode: mode must be a quoted octal string: YAML reads the unquoted 0644 as the integer 420',
      '  hint: quote it: mode: "0644"',
      '2 problems in <stdin>',
      '',
    ].join('\n'),
  );
});

void test('warnings alone: printed with their summary, exit code untouched, the command goes on', async () => {
  const loaded = await loadSpecs(
    ['-'],
    stdin('services:\n  - name: s\n    image: alpine\n    binds: [/a:/a]\n    binds.add: [/b:/b]\n'),
  );
  const c = capture();
  assert.equal(showIssues(loaded, c.ctx), true);
  assert.equal(c.code(), 0);
  assert.equal(
    c.err(),
    '<stdin>:5:5: services[0].binds.add: warning: binds.add is ignored because binds is also set\n  hint: merge the lists into binds\n0 problems, 1 warning in <stdin>\n',
  );
});

void test('a clean spec prints nothing', async () => {
  const c = capture();
  assert.equal(showIssues(await loadSpecs(['-'], stdin('init: [linuxkit/init:v1]\n')), c.ctx), true);
  assert.deepEqual([c.err(), c.code()], ['', 0]);
});
