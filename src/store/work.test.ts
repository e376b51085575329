import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { processStart } from '../util/process.ts';
import { openWorkDir, sweepWork, workArea } from './work.ts';
import { silentReporter } from '../util/reporter.ts';

void test('sweep removes work dirs whose owner is gone or whose pid was reused; keeps running owners and unknown names', async () => {
  const cache = await mkdtemp(join(tmpdir(), 'mobyts-work-test-'));
  try {
    const area = workArea(cache);
    const me = `${process.pid}-${processStart(process.pid) ?? 0}-0123456789ab`;
    const reused = `${process.pid}-${(processStart(process.pid) ?? 0) + 1}-0123456789ab`;
    const dead = '4194304-12-0123456789ab'; // above Linux's pid_max: never running
    for (const n of [me, reused, dead, 'not-a-work-dir']) await mkdir(join(area, n, 'sub'), { recursive: true });
    assert.deepEqual((await sweepWork(cache)).sort(), [dead, reused].sort());
    assert.deepEqual((await readdir(area)).sort(), [me, 'not-a-work-dir'].sort());
    const w = await openWorkDir(cache, silentReporter);
    assert.equal(join(w.path, '..'), area);
    await w.remove();
    assert.deepEqual((await readdir(area)).sort(), [me, 'not-a-work-dir'].sort());
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
});
