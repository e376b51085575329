/** Outputs appear complete or not at all: the atomic writers, with real files. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import { asIoError, sweepTemps, tempNameFor, writeAtomically, writeStreamAtomically } from './atomic.ts';
import { processStart } from './process.ts';
import { MobyError } from './errors.ts';

async function dir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mobyts-atomic-'));
  t.after(() => rm(d, { recursive: true, force: true }));
  return d;
}

void test('the file appears only when complete, mode 0644 whatever the umask, and no temp file is left', async (t) => {
  const d = await dir(t);
  const out = join(d, 'os.tar');
  let seenDuring: string[] = [];
  await writeAtomically(out, async (temp) => {
    await writeFile(temp, 'data', { mode: 0o600 });
    seenDuring = await readdir(d);
  });
  assert.equal(seenDuring.length, 1);
  assert.match(seenDuring[0] ?? '', /^\.os\.tar\.tmp-\d+-\d+-[0-9a-f]{12}$/, 'a hidden temp name beside the target');
  assert.deepEqual(await readdir(d), ['os.tar']);
  assert.equal(await readFile(out, 'utf8'), 'data');
  assert.equal((await stat(out)).mode & 0o777, 0o644);
});

void test('a failure leaves the destination untouched and removes the temp file', async (t) => {
  const d = await dir(t);
  const out = join(d, 'os.tar');
  await writeFile(out, 'previous build');
  await assert.rejects(
    writeAtomically(out, async (temp) => {
      await writeFile(temp, 'half');
      throw new MobyError('Cannot write tar entry "x": body too short', { code: 'BUILD' });
    }),
    { code: 'BUILD', message: 'Cannot write tar entry "x": body too short' },
  );
  assert.deepEqual(await readdir(d), ['os.tar']);
  assert.equal(await readFile(out, 'utf8'), 'previous build');
  const failing = new Readable({
    read() {
      this.destroy(new Error('source broke'));
    },
  });
  await assert.rejects(writeStreamAtomically(join(d, 'other'), failing), { message: 'source broke' });
  assert.deepEqual(await readdir(d), ['os.tar']);
});

void test('a missing directory is an IO MobyError naming the destination, the system error as its cause', async (t) => {
  const d = await dir(t);
  const out = join(d, 'no', 'such', 'dir', 'x.iso');
  await assert.rejects(writeStreamAtomically(out, Readable.from([Buffer.from('x')])), (err: MobyError) => {
    assert.equal(err.code, 'IO');
    assert.equal(err.message, `Cannot write "${out}": ENOENT: no such file or directory`);
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ENOENT');
    return true;
  });
});

void test('asIoError passes MobyErrors, aborts and non-system errors through unchanged', () => {
  const moby = new MobyError('x', { code: 'BUILD' });
  const abort = Object.assign(new Error('stop'), { name: 'AbortError' });
  const plain = new Error('bug');
  for (const e of [moby, abort, plain]) assert.equal(asIoError('write', 'f', e), e);
  assert.match(tempNameFor('/out/a.iso'), new RegExp(`^/out/\\.a\\.iso\\.tmp-${process.pid}-\\d+-[0-9a-f]{12}$`));
});

void test('sweepTemps removes the temp files of these outputs whose owner is gone, and nothing else', async (t) => {
  const d = await dir(t);
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((res) => child.once('close', res));
  const gone = child.pid ?? 0;
  const start = processStart(process.pid) ?? 0;
  const names = {
    killed: `.x.img.tmp-${gone}-77-0123456789ab`,
    pidReused: `.x.img.tmp-${process.pid}-${start + 1}-0123456789ab`,
    running: `.x.img.tmp-${process.pid}-${start}-0123456789ab`,
    otherOutput: `.y.img.tmp-${gone}-77-0123456789ab`,
    noOwner: '.x.img.tmp-0123456789ab',
    output: 'x.img',
  };
  for (const n of Object.values(names)) await writeFile(join(d, n), n);
  const removed = await sweepTemps([join(d, 'x.img'), join(d, 'missing', 'z.img')]);
  assert.deepEqual(removed.sort(), [join(d, names.killed), join(d, names.pidReused)].sort());
  assert.deepEqual((await readdir(d)).sort(), [names.running, names.otherOutput, names.noOwner, names.output].sort());
});
