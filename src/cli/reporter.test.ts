// What a user sees on stderr in each progress mode: a TTY line that redraws, plain lines in CI, JSON lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createReporter, formatBytes, type ReporterOptions } from './reporter.ts';
import type { ReportEvent } from '../util/reporter.ts';

function render(events: ReportEvent[], opts: Partial<ReporterOptions> & { tty?: boolean } = {}): string {
  let text = '';
  const out = Object.assign(
    new Writable({
      write(c: Buffer, _e, cb) {
        text += c.toString();
        cb();
      },
    }),
    { isTTY: opts.tty === true },
  );
  const reporter = createReporter(out, { mode: 'auto', quiet: false, verbose: 1, ...opts });
  for (const e of events) reporter.emit(e);
  return text;
}

const PULL: ReportEvent[] = [
  { type: 'info', message: 'Extract kernel image: docker.io/linuxkit/kernel:6.6.71' },
  { type: 'progress', subject: 'docker.io/linuxkit/kernel:6.6.71', done: 1536, total: 3 << 20, unit: 'bytes' },
  { type: 'done', subject: 'docker.io/linuxkit/kernel:6.6.71', bytes: 3 << 20, seconds: 2 },
  { type: 'warn', message: 'no kernel config found' },
  { type: 'debug', message: 'GET /v2/' },
];

void test('plain mode (no terminal): one line per event, no progress redraws, debug hidden at -v 1', () => {
  assert.equal(
    render(PULL),
    [
      'Extract kernel image: docker.io/linuxkit/kernel:6.6.71',
      'docker.io/linuxkit/kernel:6.6.71: 3.0 MiB (1.5 MiB/s) done',
      'Warning: no kernel config found',
      '',
    ].join('\n'),
  );
});

void test('tty mode: progress redraws one line with bytes of total; later lines clear it', () => {
  const text = render(PULL, { tty: true });
  assert.ok(text.includes('\r\x1b[Kdocker.io/linuxkit/kernel:6.6.71: 1.5 KiB / 3.0 MiB'), JSON.stringify(text));
  assert.ok(
    text.includes('\r\x1b[Kdocker.io/linuxkit/kernel:6.6.71: 3.0 MiB (1.5 MiB/s) done\n'),
    JSON.stringify(text),
  );
});

void test('json mode: one JSON object per line with the event fields and a timestamp', () => {
  const lines = render(PULL, { mode: 'json', verbose: 2 })
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.map((l) => l['type']),
    ['info', 'progress', 'done', 'warn', 'debug'],
  );
  assert.deepEqual(
    { ...lines[1], time: undefined },
    {
      time: undefined,
      type: 'progress',
      subject: 'docker.io/linuxkit/kernel:6.6.71',
      done: 1536,
      total: 3 << 20,
      unit: 'bytes',
    },
  );
  assert.match(String(lines[0]?.['time']), /^\d{4}-\d\d-\d\dT/);
});

void test('-q keeps only warnings; -v 0 drops info', () => {
  assert.equal(render(PULL, { quiet: true }), 'Warning: no kernel config found\n');
  assert.equal(
    render(PULL, { verbose: 0 }),
    'docker.io/linuxkit/kernel:6.6.71: 3.0 MiB (1.5 MiB/s) done\nWarning: no kernel config found\n',
  );
});

void test('a warning with a cause: its chain as `caused by:` lines (plain), as `causes` texts (json)', () => {
  const cause = new Error('Cannot verify blob sha256:ab: content has digest sha256:cd', {
    cause: Object.assign(new Error('connect ECONNRESET 10.0.0.1:5000'), { code: 'ECONNRESET' }),
  });
  const warn: ReportEvent = {
    type: 'warn',
    message: 'Cannot use section 0123 of the remote cache, building it here',
    cause,
  };
  assert.equal(
    render([warn]),
    [
      'Warning: Cannot use section 0123 of the remote cache, building it here',
      'caused by: Cannot verify blob sha256:ab: content has digest sha256:cd',
      'caused by: connect ECONNRESET 10.0.0.1:5000',
      '',
    ].join('\n'),
  );
  const json = JSON.parse(render([warn], { mode: 'json' })) as Record<string, unknown>;
  assert.deepEqual(
    { ...json, time: undefined },
    {
      time: undefined,
      type: 'warn',
      message: 'Cannot use section 0123 of the remote cache, building it here',
      causes: ['Cannot verify blob sha256:ab: content has digest sha256:cd', 'connect ECONNRESET 10.0.0.1:5000'],
    },
  );
});

void test('sizes read like a person writes them', () => {
  assert.deepEqual([0, 1023, 1024, 1536, 5 * 2 ** 30].map(formatBytes), [
    '0 B',
    '1023 B',
    '1.0 KiB',
    '1.5 KiB',
    '5.0 GiB',
  ]);
});
