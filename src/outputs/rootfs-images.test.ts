import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { TarHeader } from '../tar/entry.ts';
import { writeTarFile } from '../../test/helpers/tar-file.ts';
import { runTool } from '../tools/run-tool.ts';
import { recordingReporter, type ReportEvent } from '../util/reporter.ts';
import type { FormatContext } from './format.ts';
import { writeRootfsIso } from './kernel-iso.ts';
import { makeErofs, makeSquashfs, pseudoDefinitions, pseudoPath } from './rootfs-images.ts';
import type { StagedEntry } from './stage-rootfs.ts';
import { ODD_NAMES } from '../../test/helpers/odd-names.ts';

const dir = mkdtempSync(join(tmpdir(), 'mobyts-rootfs-images-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const MODES = [0o644, 0o600, 0o755, 0o640, 0o700, 0o444, 0o711, 0o4755];

/** struct vfs_cap_data revision 2: cap_net_raw, effective (getcap: `cap_net_raw=ep`). */
const NET_RAW = Buffer.alloc(20);
NET_RAW.writeUInt32LE(0x02000001, 0);
NET_RAW.writeUInt32LE(1 << 13, 4);

type Spec = Partial<TarHeader> & { name: string };

/** Every odd name as a file at the root and under an odd directory, each with its own mode and owner. */
function oddTree(): Spec[] {
  const specs: Spec[] = [{ name: 'odd dir[1]', type: 'directory', mode: 0o750, uid: 5, gid: 6 }];
  ODD_NAMES.forEach((name, i) => {
    const meta = { mode: MODES[i % MODES.length]!, uid: 1000 + i, gid: 2000 + i };
    specs.push({ name, ...meta }, { name: `odd dir[1]/${name}`, ...meta, uid: 3000 + i });
  });
  return specs;
}

function tarOf(name: string, specs: Spec[]): Promise<string> {
  const text = (h: Spec): string | undefined => (h.type === undefined || h.type === 'file' ? `${h.name}\n` : undefined);
  return writeTarFile(
    join(dir, `${name}.tar`),
    specs.map((h) => [h, text(h)]),
  );
}

function ctxFor(tar: string, name: string): FormatContext & { reporter: { events: ReportEvent[] } } {
  const workDir = join(dir, `${name}.work`);
  return {
    inputs: { rootfsTarWithoutBootPath: () => Promise.resolve(tar) },
    workDir,
    sourceDateEpoch: 1492533000,
    reporter: recordingReporter(),
    signal: new AbortController().signal,
  } as unknown as FormatContext & { reporter: { events: ReportEvent[] } };
}

const warnings = (events: ReportEvent[]): string[] => events.filter((e) => e.type === 'warn').map((e) => e.message);

/** `unsquashfs -lln`: path → `mode uid:gid` (ls notation), for names without a newline. */
async function squashfsListing(image: string): Promise<Map<string, string>> {
  const { stdout } = await runTool('unsquashfs', ['-lln', image]);
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^(\S{10}) (\d+)\/(\d+) .*? squashfs-root\/(.*)$/.exec(line);
    if (m !== null) out.set(m[4]!, `${m[1]!} ${m[2]!}:${m[3]!}`);
  }
  return out;
}

function lsMode(type: 'file' | 'directory', mode: number): string {
  const rwx = (bits: number, special: boolean, s: string): string =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? s : s.toUpperCase()) : bits & 1 ? 'x' : '-'}`;
  return `${type === 'directory' ? 'd' : '-'}${rwx(mode >> 6, (mode & 0o4000) !== 0, 's')}${rwx(mode >> 3, (mode & 0o2000) !== 0, 's')}${rwx(mode, (mode & 0o1000) !== 0, 't')}`;
}

const entry = (path: string, type: StagedEntry['type'], mode: number, uid = 0, gid = 0): StagedEntry => ({
  path,
  type,
  mode,
  uid,
  gid,
  devmajor: 4,
  devminor: 1,
  onDisk: type !== 'character-device' && type !== 'fifo',
});

void test('pseudo paths: every ASCII sign escaped so none is read as a separator, quote, glob or option; a newline cannot be written', () => {
  assert.equal(pseudoPath('usr/bin/['), '/usr/bin/\\[');
  assert.equal(pseudoPath('a b/q"uote'), '/a\\ b/q\\"uote');
  assert.equal(pseudoPath('back\\slash'), '/back\\\\slash');
  assert.equal(pseudoPath('-rf'), '/-rf');
  assert.equal(pseudoPath('*?'), '/\\*\\?');
  assert.equal(pseudoPath('ünï☃'), '/ünï☃');
  assert.equal(pseudoPath('tab\tx'), '/tab\\\tx');
  assert.equal(pseudoPath('new\nline'), undefined);
  assert.deepEqual(
    pseudoDefinitions([
      entry('usr/bin/*', 'file', 0o4755, 0, 0),
      entry('a b', 'directory', 0o750, 5, 6),
      entry('a b/l', 'symlink', 0o777, 7, 8),
      entry('a b/h', 'link', 0o644),
      entry('dev/c [', 'character-device', 0o620, 0, 5),
      entry('run/f?', 'fifo', 0o640, 1, 2),
      entry('new\nline', 'file', 0o600, 9, 9),
    ]),
    {
      lines: [
        '/usr/bin/\\* m 4755 0 0',
        '/a\\ b m 0750 5 6',
        '/a\\ b/l m 0777 7 8',
        '/dev/c\\ \\[ c 0620 0 5 4 1',
        '/run/f\\? i 0640 1 2 f',
      ],
      unexpressible: ['new\nline'],
    },
  );
});

void test('squashfs: odd names keep their names, modes and owners; newline names and dropped capabilities are warned about', async () => {
  const specs: Spec[] = [
    ...oddTree(),
    { name: 'dev', type: 'directory', mode: 0o755 },
    { name: 'dev/c *', type: 'character-device', mode: 0o620, gid: 5, devmajor: 4, devminor: 1 },
    { name: 'new\nline', mode: 0o600, uid: 7, gid: 7 },
    { name: 'usr/bin/ping', mode: 0o755, pax: [['SCHILY.xattr.security.capability', NET_RAW]] },
  ];
  const ctx = ctxFor(await tarOf('squashfs', specs), 'squashfs');
  const image = join(dir, 'rootfs.squashfs');
  await makeSquashfs(ctx, image);
  const listing = await squashfsListing(image);
  assert.ok(listing.size >= specs.length, `${listing.size} paths listed`);
  for (const s of specs.filter((x) => !x.name.includes('\n') && x.type !== 'character-device')) {
    const type = s.type === 'directory' ? 'directory' : 'file';
    assert.equal(listing.get(s.name), `${lsMode(type, s.mode ?? 0o644)} ${s.uid ?? 0}:${s.gid ?? 0}`, s.name);
  }
  assert.equal(listing.get('dev/c *'), 'crw--w---- 0:5');
  assert.ok(listing.has('new'), 'the newline name is in the image (its first line as unsquashfs prints it)');
  const { stdout } = await runTool('unsquashfs', ['-lln', image, 'usr/bin/ping']);
  assert.match(stdout, /squashfs-root\/usr\/bin\/ping/);
  assert.deepEqual(warnings(ctx.reporter.events), [
    'The squashfs image cannot take the owner and mode of 1 path(s) with a newline in the name (a mksquashfs pseudo file cannot name them): "new\\nline"; files and directories among them are owned by the building user with their staged mode, device nodes and fifos are left out',
    `The squashfs image cannot hold extended attributes (it is made from an unprivileged staging copy, and mksquashfs 4.5's pseudo file has no extended attributes): dropped them from 1 file(s): "usr/bin/ping" (cap_net_raw=ep); in the booted system these files lack them (only the tar output keeps extended attributes)`,
  ]);
});

void test('erofs: odd names keep their names and permission bits (owners are all root); dropped capabilities are warned about', async () => {
  const specs: Spec[] = [
    ...oddTree(),
    { name: 'usr/bin/ping', mode: 0o755, pax: [['SCHILY.xattr.security.capability', NET_RAW]] },
    { name: 'etc/k', pax: [['SCHILY.xattr.user.k', Buffer.from('v')]] },
  ];
  const ctx = ctxFor(await tarOf('erofs', specs), 'erofs');
  const image = join(dir, 'rootfs.erofs');
  await makeErofs(ctx, image);
  const out = join(dir, 'erofs.x');
  const root = process.getuid?.() === 0;
  await runTool('fsck.erofs', [`--extract=${out}`, root ? '--preserve' : '--preserve-perms', image]);
  for (const s of specs) {
    const st = lstatSync(join(out, s.name));
    assert.equal(st.mode & 0o777, (s.mode ?? 0o644) & 0o777, s.name);
    if (root) assert.equal(`${st.uid}:${st.gid}`, '0:0', s.name);
  }
  assert.deepEqual(warnings(ctx.reporter.events), [
    'The erofs image cannot hold extended attributes (it is made from an unprivileged staging copy, and mkfs.erofs 1.5 takes extended attributes only from the files on disk): dropped them from 2 file(s): "usr/bin/ping" (cap_net_raw=ep), "etc/k" (user.k); in the booted system these files lack them (only the tar output keeps extended attributes)',
  ]);
});

void test('kernel+iso: dropped capabilities are warned about, the last entry of a path deciding', async () => {
  const specs: Spec[] = [
    { name: 'usr/bin/ping', mode: 0o755, pax: [['SCHILY.xattr.security.capability', NET_RAW]] },
    { name: 'usr/bin/was-capable', pax: [['SCHILY.xattr.security.capability', NET_RAW]] },
    { name: 'usr/bin/was-capable' },
  ];
  const ctx = ctxFor(await tarOf('iso', specs), 'iso');
  const image = join(dir, 'rootfs.iso');
  await writeRootfsIso(ctx, image);
  const { stdout } = await runTool('xorriso', ['-indev', image, '-lsl', '/usr/bin/ping']);
  assert.match(stdout, /'\/usr\/bin\/ping'/);
  assert.deepEqual(warnings(ctx.reporter.events), [
    `The ISO image cannot hold extended attributes (Linux's ISO 9660 driver reads none from Rock Ridge): dropped them from 1 file(s): "usr/bin/ping" (cap_net_raw=ep); in the booted system these files lack them (only the tar output keeps extended attributes)`,
  ]);
});
