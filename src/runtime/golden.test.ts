/**
 * LinuxKit's own output as the oracle (docs/linuxkit-behaviour.md#goldens): for each fixture, every config.json,
 * runtime.json and the `metadata: yaml` file must equal LinuxKit's bytes, except for the documented places where
 * LinuxKit drops values the user wrote (docs/compat.md). Those deltas are listed here explicitly, each must apply
 * exactly once, so any other difference fails.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import YAML from 'yaml';
import { parseReference } from '../oci/reference.ts';
import type { ContainerConfig } from '../oci/types.ts';
import { CONTAINER_SECTIONS, type ImageConfigSpec, type MobySpec } from '../spec/types.ts';
import { bundleFiles } from './bundle.ts';
import { buildIdMap } from './ids.ts';
import { renderMetadata } from './metadata.ts';

const FIXTURES = new URL('../../test/fixtures/linuxkit-golden/', import.meta.url);

interface Delta {
  block: string;
  from: string;
  to: string;
}

/**
 * Where mobyts keeps what LinuxKit's YAML decoder silently drops (docs/linuxkit-behaviour.md#dropped-keys;
 * docs/compat.md).
 */
const DELTAS: Record<string, Delta[]> = {
  minimal: [],
  caps: [],
  dupcap: [],
  rich: [
    {
      block: 'containers/services/web/config.json',
      from: '"containerID": 0,\n                "hostID": 0,',
      to: '"containerID": 0,\n                "hostID": 1000,',
    },
    {
      block: 'containers/services/web/config.json',
      from: '"memory": {\n                "limit": 1000\n            },',
      to: '"memory": {\n                "limit": 1000,\n                "disableOOMKiller": true\n            },',
    },
    { block: 'metadata yaml', from: '      disableoomkiller: null\n', to: '      disableoomkiller: true\n' },
    { block: 'metadata yaml', from: '    hostid: 0\n', to: '    hostid: 1000\n' },
  ],
};

/**
 * `==== <name>` blocks. The fixture added one `\n` after each JSON file (which has none); the final
 * `metadata yaml` block is yaml.v2's output as is, which itself ends with the newline.
 */
function readBlocks(text: string): Map<string, string> {
  const blocks = new Map<string, string>();
  const parts = text.split(/^==== (.+)\n/m);
  for (let i = 1; i + 1 < parts.length; i += 2) {
    const body = parts[i + 1] ?? '';
    assert.ok(body.endsWith('\n'));
    const name = parts[i] ?? '';
    blocks.set(name, name === 'metadata yaml' ? body : body.slice(0, -1));
  }
  return blocks;
}

function applyDeltas(blocks: Map<string, string>, deltas: Delta[]): Map<string, string> {
  const out = new Map(blocks);
  for (const d of deltas) {
    const text = out.get(d.block) ?? '';
    assert.equal(text.split(d.from).length, 2, `delta must match exactly once in ${d.block}: ${d.from}`);
    out.set(d.block, text.replace(d.from, d.to));
  }
  return out;
}

function expand(spec: MobySpec): MobySpec {
  const ex = (s: string): string => parseReference(s).expanded;
  const out: MobySpec = { ...spec };
  if (spec.kernel !== undefined) out.kernel = { ...spec.kernel, image: ex(spec.kernel.image) };
  if (spec.init !== undefined) out.init = spec.init.map(ex);
  for (const s of CONTAINER_SECTIONS) {
    if (spec[s] !== undefined) out[s] = spec[s].map((e) => ({ ...e, image: ex(e.image) }));
  }
  return out;
}

function loadFixture(name: string): {
  spec: MobySpec;
  config: ContainerConfig;
  label?: ImageConfigSpec;
  expected: Map<string, string>;
} {
  const dir = new URL(`${name}/`, FIXTURES);
  const spec = YAML.parse(readFileSync(new URL('spec.yml', dir), 'utf8'), { version: '1.1' }) as MobySpec;
  const config = JSON.parse(readFileSync(new URL('image-config.json', dir), 'utf8')) as ContainerConfig;
  const labelText = config.Labels?.['org.mobyproject.config'];
  const expected = readBlocks(readFileSync(new URL('expected.txt', dir), 'utf8'));
  const label = labelText === undefined ? undefined : (YAML.parse(labelText) as ImageConfigSpec);
  return { spec, config, ...(label === undefined ? {} : { label }), expected };
}

/** What the build writes for a fixture: every bundle's two files (images de-duplicated) and the metadata. */
function generate(f: ReturnType<typeof loadFixture>): Map<string, string> {
  const out = new Map<string, string>();
  const idMap = buildIdMap(f.spec);
  const shared = new Map<string, string>();
  for (const section of CONTAINER_SECTIONS) {
    (f.spec[section] ?? []).forEach((entry, index) => {
      const ref = parseReference(entry.image).expanded;
      const image = f.label === undefined ? { config: f.config } : { config: f.config, label: f.label };
      const b = bundleFiles(entry, image, { idMap, section, index, sharedRoot: shared.get(ref) });
      if (!shared.has(ref)) shared.set(ref, b.root);
      out.set(`${b.path}/config.json`, b.configJson);
      out.set(`${b.path}/runtime.json`, b.runtimeJson);
    });
  }
  out.set('metadata yaml', renderMetadata(expand(f.spec), 'yaml'));
  return out;
}

for (const name of ['minimal', 'rich', 'caps', 'dupcap']) {
  void test(`golden ${name}: config.json, runtime.json and metadata yaml match LinuxKit's bytes`, () => {
    const f = loadFixture(name);
    const expected = applyDeltas(f.expected, DELTAS[name] ?? []);
    const actual = generate(f);
    assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
    for (const [path, text] of expected) assert.equal(actual.get(path), text, path);
  });
}

void test('golden rich: the documented deltas are the only differences from LinuxKit', () => {
  const f = loadFixture('rich');
  const actual = generate(f);
  const differing = [...f.expected].filter(([path, text]) => actual.get(path) !== text).map(([p]) => p);
  assert.deepEqual(differing, ['containers/services/web/config.json', 'metadata yaml']);
});
