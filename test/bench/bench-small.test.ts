/**
 * `npm run bench -- --small` end to end, so the bench never rots: it must generate its inputs, build them
 * through the real CLI against the real registry, and print a report with every expected row, each filled
 * with measured numbers, the same report it writes to --out.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { allFormats } from '../../src/outputs/index.ts';
import { benchConfig } from '../../bench/lib/cases.ts';

const REPO = resolve(import.meta.dirname, '../..');

function runBench(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(REPO, 'bench/run.ts'), ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
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

/** The rows (cells) of the markdown table under `## heading`, header and separator dropped. */
function section(report: string, heading: string): string[][] {
  const start = report.indexOf(`\n## ${heading}`);
  assert.notEqual(start, -1, `no "## ${heading}" section in:\n${report}`);
  const rest = report.slice(start + 4);
  const body = rest.slice(0, rest.indexOf('\n## ') === -1 ? undefined : rest.indexOf('\n## '));
  const rows = body
    .split('\n')
    .filter((l) => l.startsWith('| '))
    .map((l) => l.slice(2, -2).split(' | '));
  return rows.slice(2);
}

const isSeconds = (s: string | undefined): boolean => /^\d+\.\d{3}$/.test(s ?? '') && Number(s) > 0;

interface Json {
  results: Array<{
    id: string;
    failed?: string;
    sizes: { kernel: number; cpio: number; initrd: number };
    warm: { wallS: number; cpuS: number; maxRssMiB: number };
  }>;
}

void test(
  'npm run bench -- --small prints and writes a full report of measured rows',
  { timeout: 900_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'mobyts-bench-test-'));
    after(() => rm(dir, { recursive: true, force: true }));
    const out = join(dir, 'latest.md');
    const r = await runBench(['--out', out], { BENCH_SMALL: '1' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readFile(out, 'utf8'), r.stdout, 'the printed report is the written one');
    assert.match(r.stdout, /^# mobyts bench \(small mode\)\n/);
    const cfg = benchConfig(true);
    const ids = cfg.cases.map((c) => c.id);

    await t.test('start-up rows', () => {
      const rows = section(r.stdout, 'Start-up');
      assert.deepEqual(
        rows.map((x) => x[0]),
        [
          '`node -e 0`',
          '`mobyts --version`',
          '`mobyts validate minimal.yml`',
          '`mobyts --version`, compiled (dist/)',
          '`mobyts validate minimal.yml`, compiled (dist/)',
          '`mobyts build ref.yml` again, nothing changed, compiled (dist/)',
          'the modules a warm `ref` build loads, loaded and nothing else, compiled (dist/)',
        ],
      );
      for (const row of rows) assert.ok(isSeconds(row[2]) && isSeconds(row[3]) && Number(row[4]) > 0, row.join(' | '));
    });

    await t.test('one build row and one floors row per case, every cell measured', () => {
      const builds = section(r.stdout, 'Builds');
      assert.deepEqual(
        builds.map((x) => x[0]),
        ids,
      );
      for (const row of builds)
        for (const i of [3, 4, 5, 6, 7]) assert.ok(isSeconds(row[i]), `${row[0]} column ${i}: ${row[i]}`);
      for (const row of builds) assert.equal(row[9], 'skipped', 'no --linuxkit: the peer column says skipped');
      const floors = section(r.stdout, 'Floors');
      assert.deepEqual(
        floors.map((x) => x[0]),
        ids,
      );
      for (const row of floors)
        for (const i of [1, 2, 3, 4, 5, 6, 7]) assert.match(row[i] ?? '', /^\d+\.\d{3}$/, `${row[0]} column ${i}`);
    });

    await t.test('every output format measured on ref, or skipped naming the missing tool', () => {
      const rows = section(r.stdout, 'Output formats');
      const expected = allFormats()
        .map((f) => f.name)
        .filter((n) => n !== 'kernel+initrd');
      assert.deepEqual(
        rows.map((x) => `${x[0]} ${x[1]}`),
        expected.map((n) => `ref ${n}`),
      );
      for (const row of rows) {
        if (row[2] === 'skipped') assert.match(row[7] ?? '', /^missing \S/);
        else assert.ok(row[2] === 'ok' && isSeconds(row[3]), `${row[1]}: ${row.join(' | ')}`);
      }
    });

    await t.test('every target judged PASS or MISS, those against LinuxKit NOT RUN with "peer skipped"', () => {
      const rows = section(r.stdout, 'Targets');
      // 4 start-up targets (compiled), 10 build targets, one cold row per case, the 2 floors of `ref`, the remote-cache row
      assert.equal(rows.length, 4 + 10 + ids.length + 2 + 1);
      assert.ok(
        rows.some(
          (x) =>
            (x[0] ?? '').startsWith('runner B (empty cache, --cache-from) ≤ 1.10 × curl') &&
            / 0 sections compressed$/.test(x[1] ?? ''),
        ),
        'remote row: B compressed nothing',
      );
      for (const id of ids)
        assert.ok(
          rows.some((x) => x[0] === `cold ≤ 1.05 × (download + warm), \`${id}\``),
          id,
        );
      for (const row of rows) {
        if ((row[1] ?? '').includes('peer skipped')) assert.equal(row[3], 'NOT RUN', row.join(' | '));
        else assert.ok(row[3] === 'PASS' || row[3] === 'MISS', row.join(' | '));
      }
      assert.equal(rows.filter((x) => (x[1] ?? '').includes('peer skipped')).length, 6);
    });

    await t.test('the outputs hold the generated inputs', async () => {
      const json = JSON.parse(await readFile(join(dir, 'latest.json'), 'utf8')) as Json;
      for (const c of cfg.cases) {
        const res = json.results.find((x) => x.id === c.id);
        assert.ok(res !== undefined, c.id);
        assert.equal(res.failed, undefined, `${c.id} failed`);
        assert.equal(res.sizes.kernel, cfg.bzImageBytes, `${c.id}: the kernel output is the generated kernel`);
        const data = c.smallFiles === undefined ? c.dataBytes - cfg.bzImageBytes : c.smallFiles * 64;
        assert.ok(res.sizes.cpio >= data, `${c.id}: cpio ${res.sizes.cpio} < file data ${data}`);
        assert.ok(res.warm.cpuS > 0 && res.warm.maxRssMiB > 20, `${c.id}: ${JSON.stringify(res.warm)}`);
      }
    });
  },
);
