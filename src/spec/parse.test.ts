// parseSpec on its own: YAML 1.1 octal ints as LinuxKit reads them, merge keys, JSON, empty files, CRLF.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderIssues } from './issues.ts';
import { parseSpec } from './parse.ts';

void test('an empty file is a valid, empty spec', () => {
  assert.deepEqual(parseSpec('', 'e.yml'), { spec: {}, issues: [] });
  assert.deepEqual(parseSpec('# nothing\n', 'e.yml'), { spec: {}, issues: [] });
});

void test('unquoted leading-zero numbers are octal, as in yaml.v3 (0644 → 420), and reported where a string is due', () => {
  const { spec, issues } = parseSpec('files:\n  - path: a\n    contents: x\n    mode: 0644\n', 's.yml');
  assert.equal((spec.files?.[0] as unknown as { mode: unknown }).mode, 420);
  assert.equal(issues.length, 1);
  assert.equal(
    issues[0]?.message,
    'mode must be a quoted octal string: YAML reads the unquoted 0644 as the integer 420',
  );
  const ok = parseSpec('onboot:\n  - name: a\n    image: alpine\n    oomScoreAdj: -0700\n', 's.yml');
  assert.equal(ok.spec.onboot?.[0]?.oomScoreAdj, -448);
});

void test('JSON specs, anchors and merge keys work', () => {
  assert.deepEqual(parseSpec('{"init": ["linuxkit/init:v1"]}', 'j.json'), {
    spec: { init: ['linuxkit/init:v1'] },
    issues: [],
  });
  const yaml = 'x-caps: &caps\n  capabilities: [CAP_NET_ADMIN]\n';
  const r = parseSpec(
    'onboot:\n  - &base\n    name: a\n    image: alpine\n    capabilities: [CAP_SYS_ADMIN]\n  - <<: *base\n    name: b\n',
    'm.yml',
  );
  assert.equal(renderIssues(r.issues), '');
  assert.deepEqual(r.spec.onboot?.[1], { name: 'b', image: 'alpine', capabilities: ['CAP_SYS_ADMIN'] });
  assert.match(renderIssues(parseSpec(yaml, 'm.yml').issues), /^m\.yml:1:1: x-caps: unknown key "x-caps"\n/);
});

void test('positions are right with CRLF line endings', () => {
  const r = parseSpec('onboot:\r\n  - name: a\r\n    image: alpine\r\n    capabilities: [CAP_NET_ADMN]\r\n', 'w.yml');
  assert.equal(
    renderIssues(r.issues),
    'w.yml:4:20: onboot[0].capabilities[0]: unknown capability "CAP_NET_ADMN" (did you mean "CAP_NET_ADMIN"?)\n',
  );
});

void test('issues carry file, line, col, path, message, hint and severity', () => {
  const r = parseSpec('services:\n  - name: a\n    image: alpine\n    uid: "7"\n', 'i.yml');
  assert.deepEqual(r.issues, [
    {
      file: 'i.yml',
      line: 4,
      col: 10,
      path: 'services[0].uid',
      severity: 'error',
      message: 'cannot find id "7": no container has that name',
      hint: 'write it as a number, without quotes: 7',
    },
  ]);
});

void test('did-you-mean only for plausible typos', async () => {
  const { closest } = await import('./suggest.ts');
  assert.equal(closest('imgae', ['name', 'image']), 'image');
  assert.equal(closest('kernal', ['kernel', 'init']), 'kernel');
  assert.equal(closest('CAP_NET_ADMN', ['CAP_NET_ADMIN', 'CAP_NET_RAW']), 'CAP_NET_ADMIN');
  assert.equal(closest('7', ['a', 'b']), undefined);
  assert.equal(closest('services', ['kernel', 'init']), undefined);
});

void test('rlimits as LinuxKit parses them: any case, RLIMIT_ prefix optional, "unlimited" in any case', () => {
  const r = parseSpec(
    'services:\n  - name: a\n    image: alpine\n    rlimits: ["NOFILE,1024,Unlimited", "rlimit_core, 0 , 0", "Nproc,UNLIMITED,unlimited"]\n',
    'r.yml',
  );
  assert.deepEqual(r.issues, []);
});
