/**
 * The default (not readonly) bundle layout end to end: runtime.json's mounts (tmpfs on tmp/, overlay of
 * lower/ onto rootfs/) are performed as LinuxKit's init would, then runc runs config.json on the merged
 * rootfs. Two containers share one image: the second's overlay must read the first's lower/ and get its own
 * upper layer. Runs in a private mount namespace (`unshare -m`), so nothing leaks onto the host.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { bundleFiles, type Bundle } from '../../src/runtime/bundle.ts';
import type { ImageEntry } from '../../src/spec/types.ts';
import { busyboxTree, containerId, run, runcRoot, skipReason, tempDir } from './runc-helpers.ts';

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Shell commands doing runtime.json's mounts with every absolute path placed under `root`. */
function mountCommands(b: Bundle, root: string): string[] {
  const cmds: string[] = [];
  for (const m of b.runtime.mounts) {
    const dest = root + (m.destination ?? '');
    const options = m.options ?? [];
    if (m.type === undefined && options.includes('remount')) cmds.push(`mount --make-private ${q(dest)}`);
    else if (m.type === undefined && options.includes('bind'))
      cmds.push(`mount --bind ${q(root + (m.source ?? ''))} ${q(dest)}`);
    else {
      const opts = options.map((o) => o.replace(/^(lowerdir|upperdir|workdir)=\//, `$1=${root}/`));
      for (const o of opts) if (/^(upperdir|workdir)=/.test(o)) cmds.push(`mkdir -p ${q(o.slice(o.indexOf('=') + 1))}`);
      const o = opts.length > 0 ? `-o ${q(opts.join(','))} ` : '';
      cmds.push(`mount -t ${q(m.type ?? '')} ${o}${q(m.source ?? '')} ${q(dest)}`);
    }
  }
  return cmds;
}

/** Writes the bundle's synthetic files under `root` as the build's tar would (config.json, tmp/, rootfs/). */
function writeBundle(b: Bundle, root: string): void {
  const dir = join(root, b.path);
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  mkdirSync(join(dir, 'rootfs'), { recursive: true });
  if (b.extractTo !== undefined) busyboxTree(join(root, b.extractTo));
  writeFileSync(join(dir, 'config.json'), b.configJson);
}

void test('runc runs overlay bundles set up from runtime.json; a shared image gets separate upper layers', async (t) => {
  const reason = await skipReason(t);
  if (reason !== undefined) return t.skip(reason);
  const root = tempDir(t, 'mobyts-overlay-');
  const entries: ImageEntry[] = [
    { name: 'a', image: 'busybox', command: ['/bin/sh', '-c', 'touch /written && ls /written && echo a-wrote'] },
    { name: 'b', image: 'busybox', command: ['/bin/sh', '-c', 'ls /written 2>/dev/null || echo b-clean'] },
  ];
  const first = bundleFiles(
    entries[0] as ImageEntry,
    { config: { Env: ['PATH=/bin'] } },
    { idMap: new Map(), section: 'onboot', index: 0 },
  );
  const second = bundleFiles(
    entries[1] as ImageEntry,
    { config: { Env: ['PATH=/bin'] } },
    { idMap: new Map(), section: 'onboot', index: 1, sharedRoot: first.root },
  );
  assert.equal(second.extractTo, undefined);
  const ids = [containerId(), containerId()];
  const state = runcRoot(t, ids);
  const script = ['set -e'];
  [first, second].forEach((b, i) => {
    writeBundle(b, root);
    script.push(
      ...mountCommands(b, root),
      `runc --root ${q(state)} run --bundle ${q(join(root, b.path))} ${ids[i] ?? ''}`,
    );
  });
  const { stdout } = await run('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script.join('\n')], {
    timeout: 60_000,
  });
  assert.equal(stdout, '/written\na-wrote\nb-clean\n');
});
