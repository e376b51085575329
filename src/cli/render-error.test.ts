/** The error text users see: message, at most three redacted `caused by:` lines, hint; never a stack. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MobyError } from '../util/errors.ts';
import { renderError } from './render-error.ts';

const io = (message: string, cause?: unknown, hint?: string): MobyError =>
  new MobyError(message, {
    code: 'IO',
    ...(cause === undefined ? {} : { cause }),
    ...(hint === undefined ? {} : { hint }),
  });

void test('a MobyError without a cause: one line, its exit code', () => {
  assert.deepEqual(renderError(io('Cannot read "a"')), { text: 'Error: Cannot read "a"\n', exitCode: 1 });
  assert.deepEqual(renderError(new MobyError('Bad flag', { code: 'USAGE' })), {
    text: 'Error: Bad flag\n',
    exitCode: 2,
  });
});

void test('the cause chain follows the message, outermost first, then the hint; no stack', () => {
  const errno = Object.assign(new Error("ENOENT: no such file or directory, open '/x/.a.tmp-1'"), { code: 'ENOENT' });
  const err = io(
    'Cannot write "/x/a": ENOENT: no such file or directory',
    new Error('the writer failed', { cause: errno }),
    'check /x',
  );
  assert.deepEqual(renderError(err), {
    text:
      'Error: Cannot write "/x/a": ENOENT: no such file or directory\n' +
      'caused by: the writer failed\n' +
      "caused by: ENOENT: no such file or directory, open '/x/.a.tmp-1'\n" +
      'hint: check /x\n',
    exitCode: 1,
  });
});

void test('at most three caused-by lines, however deep the chain', () => {
  let cause: Error = new Error('level 5');
  for (let i = 4; i >= 1; i--) cause = new Error(`level ${i}`, { cause });
  assert.equal(
    renderError(io('Top', cause)).text,
    'Error: Top\ncaused by: level 1\ncaused by: level 2\ncaused by: level 3\n',
  );
});

void test('a cause the line above already says is not repeated', () => {
  const inner = new Error('incorrect header check');
  const mid = io('Cannot read layer sha256:ab: incorrect header check', inner);
  assert.equal(
    renderError(io('Cannot pull "x": Cannot read layer sha256:ab: incorrect header check', mid)).text,
    'Error: Cannot pull "x": Cannot read layer sha256:ab: incorrect header check\n',
  );
});

void test('causes are redacted: URL credentials and query values, Basic/Bearer tokens', () => {
  const cause = new Error(
    'GET https://user:s3cret@cdn.example/blob?sig=abc123&exp=1: refused; Authorization: Bearer eyJhbGciOi.x.y',
  );
  assert.equal(
    renderError(io('Cannot pull "x"', cause)).text,
    'Error: Cannot pull "x"\ncaused by: GET https://cdn.example/blob?sig=REDACTED&exp=REDACTED: refused; Authorization: Bearer REDACTED\n',
  );
});

void test('an AggregateError lists its parts; a multi-line cause keeps its first line; a string cause is printed', () => {
  const refused = new AggregateError(
    [
      Object.assign(new Error('connect ECONNREFUSED ::1:5000'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5000'), { code: 'ECONNREFUSED' }),
    ],
    '',
  );
  assert.equal(
    renderError(io('Cannot pull "x"', refused)).text,
    'Error: Cannot pull "x"\ncaused by: connect ECONNREFUSED ::1:5000; connect ECONNREFUSED 127.0.0.1:5000\n',
  );
  assert.equal(
    renderError(io('Bad YAML', new Error('Nested mappings are not allowed at line 2, column 4:\n\n  a: b: c\n'))).text,
    'Error: Bad YAML\ncaused by: Nested mappings are not allowed at line 2, column 4:\n',
  );
  assert.equal(renderError(io('Failed', 'exit status 3')).text, 'Error: Failed\ncaused by: exit status 3\n');
});

void test('anything but a MobyError is a bug: exit 70, with the stack to report', () => {
  const r = renderError(new TypeError('x is undefined'));
  assert.equal(r.exitCode, 70);
  assert.match(
    r.text,
    /^Error: internal error — this is a bug in mobyts, please report it with the lines below\.\nmobyts \S+.*\nTypeError: x is undefined\n {4}at /,
  );
});

void test("a full disk or quota met by a write nobody wrapped is the machine's fault: one line, exit 1, no stack", () => {
  const enospc = (extra: object): Error =>
    Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, ...extra });
  assert.deepEqual(renderError(enospc({ syscall: 'write', path: '/out/initrd.img' })), {
    text: 'Error: Cannot write "/out/initrd.img": ENOSPC: no space left on device\n',
    exitCode: 1,
  });
  assert.deepEqual(renderError(enospc({ syscall: 'write' })), {
    text: 'Error: ENOSPC: no space left on device\n',
    exitCode: 1,
  });
  // Any other unwrapped system error is still ours to fix: reported as a bug.
  const enoent = Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT', errno: -2 });
  assert.equal(renderError(enoent).exitCode, 70);
});
