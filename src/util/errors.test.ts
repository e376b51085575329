/** MobyError's exit codes and the system-error detail helpers messages are built from. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { errnoDetail, errnoText, isMobyError, MobyError, usageError } from './errors.ts';

void test('exit codes: 2 for usage errors, 1 for the rest unless given; the cause is kept', () => {
  const cause = new Error('below');
  const e = new MobyError('Cannot pull "x"', { code: 'REGISTRY', cause, hint: 'try again' });
  assert.deepEqual(
    [e.exitCode, e.code, e.hint, e.cause, e.name, isMobyError(e)],
    [1, 'REGISTRY', 'try again', cause, 'MobyError', true],
  );
  assert.equal(new MobyError('x', { code: 'USAGE' }).exitCode, 2);
  assert.equal(new MobyError('x', { code: 'IO', exitCode: 3 }).exitCode, 3);
  assert.equal(
    Object.hasOwn(new MobyError('x', { code: 'IO' }), 'cause'),
    false,
    'no cause property when none was given',
  );
  const u = usageError('Bad --size', 'e.g. 1024M');
  assert.deepEqual([u.exitCode, u.code, u.message, u.hint], [2, 'USAGE', 'Bad --size', 'e.g. 1024M']);
  assert.equal(isMobyError(new Error('x')), false);
});

void test('errnoText: the code and the OS words from a real system error, without syscall and path', async () => {
  const err = await readFile('/nonexistent/mobyts-file').then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.match((err as Error).message, /open '\/nonexistent\/mobyts-file'/);
  assert.equal(errnoText(err), 'ENOENT: no such file or directory');
  assert.equal(errnoDetail(err), ': ENOENT: no such file or directory');
});

void test('errnoText: nothing for errors that are not system errors (a MobyError code is not an errno)', () => {
  assert.equal(errnoText(new MobyError('x', { code: 'UNSAFE_CONTENT' })), undefined);
  assert.equal(errnoText(Object.assign(new Error('x'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })), undefined);
  assert.equal(errnoText('ENOENT'), undefined);
  assert.equal(errnoText(null), undefined);
  assert.equal(errnoDetail(new Error('x')), '');
});
