// The init package's runtime.json interpreter (busybox awk, as it runs in the guest): LinuxKit's runtime.json
// becomes quoted shell calls in LinuxKit's order, and hostile values cannot break out of their quotes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from '../helpers/kernel.ts';

const AWK = join(REPO, 'examples/packages/init/contents/usr/lib/mobyts/runtime.awk');
const awk = (json: string): string => execFileSync('busybox', ['awk', '-f', AWK], { input: json, encoding: 'utf8' });

void test('a non-readonly bundle: tmpfs, remount, overlay, then mkdir; bindNS last; empty keys skipped', () => {
  const json = JSON.stringify(
    {
      cgroups: ['dhcpcd'],
      mounts: [
        { destination: '/containers/onboot/000-x/tmp', type: 'tmpfs', source: 'tmpfs' },
        { destination: '/containers/onboot/000-x/tmp', options: ['remount', 'private'] },
        {
          destination: '/containers/onboot/000-x/rootfs',
          type: 'overlay',
          source: 'overlay',
          options: [
            'lowerdir=/containers/onboot/000-x/lower',
            'upperdir=/containers/onboot/000-x/tmp/upper',
            'workdir=/containers/onboot/000-x/tmp/work',
          ],
        },
      ],
      mkdir: ['/var/lib/x'],
      interfaces: [{ name: 'eth0', createInRoot: false }],
      bindNS: { cgroup: '', ipc: '', mnt: '', net: '/run/netns/x', pid: '', user: '', uts: '' },
      namespace: '',
    },
    null,
    4,
  );
  assert.equal(
    awk(json),
    [
      "rt_cgroup 'dhcpcd'",
      "rt_mount '/containers/onboot/000-x/tmp' 'tmpfs' 'tmpfs' ''",
      "rt_mount '/containers/onboot/000-x/tmp' '' '' 'remount,private'",
      "rt_mount '/containers/onboot/000-x/rootfs' 'overlay' 'overlay' 'lowerdir=/containers/onboot/000-x/lower,upperdir=/containers/onboot/000-x/tmp/upper,workdir=/containers/onboot/000-x/tmp/work'",
      "rt_mkdir '/var/lib/x'",
      "rt_interface 'eth0'",
      "rt_bindns 'net' '/run/netns/x'",
      '',
    ].join('\n'),
  );
});

void test('Go-escaped and hostile strings stay inside single quotes', () => {
  const out = awk('{"mkdir":["/a\\u003cb\\u0026c", "/x\'; reboot; echo \'", "/q\\"uote"],"mounts":[],"cgroups":[]}');
  assert.equal(out, "rt_mkdir '/a<b&c'\nrt_mkdir '/x'\\''; reboot; echo '\\'''\nrt_mkdir '/q\"uote'\n");
  const sh = execFileSync('sh', ['-c', `rt_mkdir() { printf '[%s]\\n' "$1"; }\n${out}`], { encoding: 'utf8' });
  assert.equal(sh, "[/a<b&c]\n[/x'; reboot; echo ']\n[/q\"uote]\n");
});

void test('malformed runtime.json makes the interpreter fail (init then reports exit 125 for the container)', () => {
  assert.throws(() => awk('{"mkdir": ["/a"'), /Command failed/);
  assert.throws(() => awk('{"mkdir": [,]}'), /Command failed/);
});
