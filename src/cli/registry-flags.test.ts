/** The registry flags as users type them, parsed by the real commander, to the RegistryOptions a pull or push gets. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { addRegistryFlags, registryOptions, type RegistryFlags } from './registry-flags.ts';

function parse(argv: string[], spec: Parameters<typeof addRegistryFlags>[1]): RegistryFlags {
  const cmd = addRegistryFlags(new Command('x').exitOverride(), spec);
  cmd.parse(argv, { from: 'user' });
  return cmd.opts<RegistryFlags>();
}

void test('repeatable and comma-separated; $LINUXKIT_MIRROR first, as LinuxKit orders mirrors', () => {
  const flags = parse(
    [
      '--mirror',
      'http://m1:5000',
      '--mirror',
      'docker.io=https://m2,https://m3',
      '--insecure-registry',
      'a:5000,b',
      '--insecure-registry',
      'c',
      '--cert-file',
      'ca.pem',
    ],
    { mirror: true },
  );
  assert.deepEqual(registryOptions(flags, { LINUXKIT_MIRROR: 'http://env1 http://env2' }), {
    mirrors: ['http://env1', 'http://env2', 'http://m1:5000', 'docker.io=https://m2', 'https://m3'],
    insecureRegistries: ['a:5000', 'b', 'c'],
    caFile: 'ca.pem',
  });
});

void test('no flags: no mirrors, no insecure hosts, no CA file key at all', () => {
  assert.deepEqual(registryOptions(parse([], { mirror: true }), {}), { mirrors: [], insecureRegistries: [] });
});

void test('a command without --mirror ignores $LINUXKIT_MIRROR and refuses the flag', () => {
  assert.deepEqual(
    registryOptions(parse(['--insecure-registry', 'h'], { mirror: false }), { LINUXKIT_MIRROR: 'http://env' }),
    { mirrors: [], insecureRegistries: ['h'] },
  );
  assert.throws(() => parse(['--mirror', 'http://m'], { mirror: false }), { code: 'commander.unknownOption' });
});

void test('help names what the CA is for and when insecure hosts apply', () => {
  const cmd = addRegistryFlags(new Command('pkg'), {
    mirror: false,
    certFor: 'the registry',
    insecureWhen: 'when pushing',
  });
  assert.deepEqual(
    cmd.options.map((o) => [o.flags, o.description]),
    [
      ['--insecure-registry <host>', 'allow plain HTTP or unverified TLS for HOST when pushing, repeatable'],
      ['--cert-file <file>', 'extra CA certificate(s) for the registry (PEM)'],
    ],
  );
});
