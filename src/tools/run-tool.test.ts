import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ToolFailedError, pathArg, runTool } from './run-tool.ts';
import type { MobyError } from '../util/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'mobyts-runtool-'));
after(() => rmSync(dir, { recursive: true, force: true }));

void test('tools run with SOURCE_DATE_EPOCH, TZ=UTC and LC_ALL=C, plus the extra env', async () => {
  const r = await runTool('sh', ['-c', 'echo "$SOURCE_DATE_EPOCH $TZ $LC_ALL $EXTRA"; date +%Z'], {
    sourceDateEpoch: 1492533000,
    env: { EXTRA: 'x' },
  });
  assert.equal(r.stdout, '1492533000 UTC C x\nUTC\n');
});

void test('a failing tool throws TOOL_FAILED carrying the tool, argv and the tail of stderr', async () => {
  await assert.rejects(
    runTool('sh', ['-c', 'for i in $(seq 1 40); do echo "line $i" >&2; done; exit 3']),
    (err: unknown) => {
      assert.ok(err instanceof ToolFailedError);
      assert.equal(err.code, 'TOOL_FAILED');
      assert.equal(err.tool, 'sh');
      assert.deepEqual(err.argv, ['-c', 'for i in $(seq 1 40); do echo "line $i" >&2; done; exit 3']);
      assert.match(err.message, /^Running "sh" failed: exit status 3\n {2}argv: sh -c 'for i in/);
      assert.ok(err.message.endsWith('line 39\nline 40'));
      assert.ok(!err.message.includes('line 25\n'));
      return true;
    },
  );
});

void test('a missing program is a TOOL_FAILED saying it cannot start, with the spawn error as its cause', async () => {
  await assert.rejects(runTool('/nonexistent/tool', ['a']), (err: MobyError) => {
    assert.equal(err.code, 'TOOL_FAILED');
    assert.equal(
      err.message,
      'Running "/nonexistent/tool" failed: cannot start it: ENOENT: no such file or directory\n  argv: /nonexistent/tool a',
    );
    assert.equal((err.cause as Error).message, 'spawn /nonexistent/tool ENOENT');
    return true;
  });
});

void test('stdin and stdout can be files', async () => {
  const input = join(dir, 'in');
  const output = join(dir, 'out');
  writeFileSync(input, 'hello\n');
  await runTool('tr', ['a-z', 'A-Z'], { stdin: input, stdout: output });
  assert.equal(readFileSync(output, 'utf8'), 'HELLO\n');
});

void test('an aborted signal kills the tool and rejects with INTERRUPTED', async () => {
  const ac = new AbortController();
  const t0 = Date.now();
  setTimeout(() => ac.abort(), 100);
  await assert.rejects(runTool('sleep', ['10'], { signal: ac.signal }), { code: 'INTERRUPTED' });
  assert.ok(Date.now() - t0 < 5000);
});

void test('pathArg: a relative path a tool would read as an option or a protocol reaches the tool as a file', async () => {
  assert.equal(pathArg('/abs/-rf'), '/abs/-rf');
  assert.equal(pathArg('./x'), './x');
  assert.equal(pathArg('-rf'), './-rf');
  // qemu-img would take "-rf" for an option and "nbd:x" for a protocol; both become files in cwd.
  for (const name of ['-rf.img', 'nbd:x [*?] ü.img']) {
    await runTool('qemu-img', ['create', '-q', '-f', 'raw', pathArg(name), '1M'], { cwd: dir });
    assert.equal(readFileSync(join(dir, name)).length, 1 << 20, name);
  }
});
