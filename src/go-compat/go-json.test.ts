/** Go encoding/json and yaml.v2 serialisation details the goldens do not all cover. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goJsonString, marshalIndent } from './go-json.ts';
import { BOOL, field, INT, map, ptr, slice, STRING, struct } from './go-type.ts';
import { marshalYamlV2, yamlKeyLess } from './yaml-v2.ts';

void test('goJsonString: HTML-safe escapes, short escapes, U+2028/9, lone surrogates', () => {
  const table: [string, string][] = [
    ['a<b>&c', '"a\\u003cb\\u003e\\u0026c"'],
    ['q"b\\', '"q\\"b\\\\"'],
    ['\n\r\t\b\f', '"\\n\\r\\t\\b\\f"'],
    ['\u0000\u001f\u007f', '"\\u0000\\u001f\u007f"'],
    ['\u2028\u2029é😀', '"\\u2028\\u2029é😀"'],
    ['x\ud800y', '"x\\ufffdy"'],
  ];
  for (const [input, want] of table) assert.equal(goJsonString(input), want, JSON.stringify(input));
});

const T = struct([
  field('S', STRING, { name: 's', omitempty: true }),
  field('B', BOOL, { name: 'b' }),
  field('N', INT, { name: 'n' }),
  field('P', ptr(INT), { name: 'p', omitempty: true }),
  field('L', slice(STRING), { name: 'l' }),
  field('E', slice(STRING), { name: 'e', omitempty: true }),
  field('M', map(INT), { name: 'm' }),
  field('Inner', struct([field('X', INT, { name: 'x', omitempty: true })]), { name: 'inner', omitempty: true }),
]);

void test('marshalIndent: omitempty, nil vs empty, sorted map keys, bigint, no trailing newline', () => {
  assert.equal(
    marshalIndent({ p: 0, l: [], e: [], m: { b: 2, a: 1, B: 3 }, n: 18446744073709551615n }, T),
    [
      '{',
      '    "b": false,',
      '    "n": 18446744073709551615,',
      '    "p": 0,',
      '    "l": [],',
      '    "m": {',
      '        "B": 3,',
      '        "a": 1,',
      '        "b": 2',
      '    },',
      '    "inner": {}',
      '}',
    ].join('\n'),
  );
  assert.equal(
    marshalIndent({}, T),
    '{\n    "b": false,\n    "n": 0,\n    "l": null,\n    "m": null,\n    "inner": {}\n}',
  );
});

void test('yaml.v2 scalars: quoting of strings that would read back as other types or start with indicators', () => {
  const S = struct([field('V', STRING, { name: 'v' })]);
  const table: [string, string][] = [
    ['plain text', 'v: plain text'],
    ['', 'v: ""'],
    ['-1', 'v: "-1"'],
    ['0666', 'v: "0666"'],
    ['1.5', 'v: "1.5"'],
    ['yes', 'v: "yes"'],
    ['Off', 'v: "Off"'],
    ['null', 'v: "null"'],
    ['~', 'v: "~"'],
    ['--nobackground', 'v: --nobackground'],
    ['- a', "v: '- a'"],
    ['a: b', "v: 'a: b'"],
    ['a #b', "v: 'a #b'"],
    ['a#b', 'v: a#b'],
    ['@pkg:./x', "v: '@pkg:./x'"],
    ["it's", "v: it's"],
    [' lead', "v: ' lead'"],
    ['tab\there', 'v: "tab\\there"'],
    ['b<&>', 'v: b<&>'],
    ['2024-01-02', 'v: "2024-01-02"'],
    ['12:30', 'v: "12:30"'],
    ['0x1F', 'v: "0x1F"'],
    ['.5', 'v: ".5"'],
    ['1_000', 'v: "1_000"'],
    ['v1.2.3', 'v: v1.2.3'],
    ['1.2.3', 'v: 1.2.3'],
  ];
  for (const [input, want] of table) assert.equal(marshalYamlV2({ v: input }, S), want + '\n', JSON.stringify(input));
});

void test('yaml.v2 literal blocks: chomping indicators and indentation', () => {
  const S = struct([field('C', slice(STRING), { name: 'c' })]);
  assert.equal(
    marshalYamlV2({ c: ['a\nb\n', 'a\nb', 'a\n\n', ' x\ny'] }, S),
    ['c:', '- |', '  a', '  b', '- |-', '  a', '  b', '- |+', '  a', '', '- |2-', '   x', '  y', ''].join('\n'),
  );
  // yaml.v2 marks a stream whose last block scalar keeps trailing breaks as open-ended.
  assert.equal(marshalYamlV2({ c: ['a\n\n'] }, S), 'c:\n- |+\n  a\n\n...\n');
});

void test('yaml.v2 folds long plain scalars at spaces past column 80', () => {
  const S = struct([field('Cmdline', STRING, { name: 'cmdline' })]);
  const words = Array.from({ length: 12 }, (_, i) => `console=ttyS${i}`).join(' ');
  const out = marshalYamlV2({ cmdline: words }, S);
  assert.equal(
    out,
    'cmdline: console=ttyS0 console=ttyS1 console=ttyS2 console=ttyS3 console=ttyS4 console=ttyS5\n' +
      '  console=ttyS6 console=ttyS7 console=ttyS8 console=ttyS9 console=ttyS10 console=ttyS11\n',
  );
});

void test('yaml.v2 map key order: digit runs compare as numbers, non-letters before letters', () => {
  const keys = ['b', 'a10', 'a2', 'A', '_x', 'a02'];
  const sorted = [...keys].sort((x, y) => (yamlKeyLess(x, y) ? -1 : yamlKeyLess(y, x) ? 1 : 0));
  assert.deepEqual(sorted, ['_x', 'A', 'a2', 'a02', 'a10', 'b']);
});
