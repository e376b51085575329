// The org.mobyproject.config label: YAML or JSON, a mapping, no name/image, the image-entry schema and rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMobyLabel } from './label.ts';

const IMG = 'docker.io/linuxkit/sshd:v1';

function fails(text: string, detail: string): void {
  assert.throws(
    () => parseMobyLabel(text, IMG),
    (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.equal((err as { code?: string }).code, 'IMAGE_CONFIG');
      assert.equal(err.message, `Invalid org.mobyproject.config label in image "${IMG}": ${detail}`);
      return true;
    },
  );
}

void test('parses JSON labels as LinuxKit packages write them', () => {
  const text =
    '{"binds":["/var/run:/var/run"],"capabilities":["CAP_NET_ADMIN"],"devices":[{"path":"/dev/console","type":"c","major":5,"minor":1,"mode":"0666"}],"pid":"host"}';
  assert.deepEqual(parseMobyLabel(text, IMG), {
    binds: ['/var/run:/var/run'],
    capabilities: ['CAP_NET_ADMIN'],
    devices: [{ path: '/dev/console', type: 'c', major: 5, minor: 1, mode: '0666' }],
    pid: 'host',
  });
});

void test('parses YAML labels; an empty label is no settings', () => {
  assert.deepEqual(parseMobyLabel('net: host\nreadonly: true\n', IMG), { net: 'host', readonly: true });
  assert.deepEqual(parseMobyLabel('', IMG), {});
  assert.deepEqual(parseMobyLabel('  \n', IMG), {});
});

void test('rejects what LinuxKit rejects, naming the image and the field', () => {
  fails('["CAP_NET_ADMIN"]', 'it must be a mapping of settings, got a list');
  fails('"just a string"', 'it must be a mapping of settings, got the string "just a string"');
  fails('{"name":"x"}', 'name: "name" cannot be set in a label');
  fails('{"image":"alpine"}', 'image: "image" cannot be set in a label');
  fails('{"capabilitys":["CAP_NET_ADMIN"]}', 'capabilitys: unknown key "capabilitys" (did you mean "capabilities"?)');
  fails('{"pid":1}', 'pid: expected a string, got the number 1');
  fails(
    '{"capabilities":["CAP_NET_ADMN"],"rlimits":["nofile"]}',
    'capabilities[0]: unknown capability "CAP_NET_ADMN" (did you mean "CAP_NET_ADMIN"?); rlimits[0]: cannot parse rlimit "nofile": expected name,soft,hard',
  );
  fails(
    '{"binds": [',
    'YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
  );
});
