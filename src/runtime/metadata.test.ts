/** `files: metadata: json|yaml` shapes beyond the goldens (docs/linuxkit-behaviour.md#files). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderMetadata } from './metadata.ts';

void test('metadata json: Go json tags, nil lists as null, kernel always present, no trailing newline', () => {
  const json = renderMetadata(
    {
      onboot: [{ name: 'a', image: 'docker.io/library/x', uid: 'b', readonly: false, command: [] }],
      files: [{ path: 'etc/x', contents: '', mode: '0644', uid: 100 }],
      volumes: [{ name: 'v', readonly: true }],
    },
    'json',
  );
  assert.equal(
    json,
    [
      '{',
      '    "kernel": {',
      '        "image": ""',
      '    },',
      '    "init": null,',
      '    "onboot": [',
      '        {',
      '            "name": "a",',
      '            "image": "docker.io/library/x",',
      '            "command": [],',
      '            "readonly": false,',
      '            "uid": "b"',
      '        }',
      '    ],',
      '    "onshutdown": null,',
      '    "services": null,',
      '    "files": [',
      '        {',
      '            "path": "etc/x",',
      '            "directory": false,',
      '            "contents": "",',
      '            "optional": false,',
      '            "mode": "0644",',
      '            "uid": 100',
      '        }',
      '    ],',
      '    "volumes": [',
      '        {',
      '            "name": "v",',
      '            "readonly": true',
      '        }',
      '    ]',
      '}',
    ].join('\n'),
  );
});

void test('metadata yaml: file contents as literal blocks, kernel tar pointer kept when empty', () => {
  const yaml = renderMetadata(
    {
      kernel: { image: 'docker.io/linuxkit/kernel:6.6', tar: '' },
      files: [
        { path: 'etc/motd', contents: 'hello\nworld\n', mode: '0644' },
        { path: 'etc/empty', contents: '' },
      ],
    },
    'yaml',
  );
  assert.equal(
    yaml,
    [
      'kernel:',
      '  image: docker.io/linuxkit/kernel:6.6',
      '  tar: ""',
      'init: []',
      'onboot: []',
      'onshutdown: []',
      'services: []',
      'files:',
      '- path: etc/motd',
      '  directory: false',
      '  contents: |',
      '    hello',
      '    world',
      '  optional: false',
      '  mode: "0644"',
      '- path: etc/empty',
      '  directory: false',
      '  contents: ""',
      '  optional: false',
      'volumes: []',
      '',
    ].join('\n'),
  );
});
