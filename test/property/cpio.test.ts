/**
 * cpio round trips (fast-check): generated trees (directories, files, symlinks, hardlinks; any mode incl.
 * setuid/sticky, any owner, non-ASCII names) go through the initrd writer uncompressed, and GNU `cpio`
 * extracts the result as root. Every path, type, mode, owner, content, symlink target and hardlink group on
 * disk is what the stream said, and nothing else is there.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { writeInitrd } from '../../src/initrd/initrd.ts';
import type { TarEntry } from '../../src/tar/entry.ts';
import { entryStreamOf } from '../../src/tar/streams.ts';
import { silentReporter } from '../../src/util/reporter.ts';

const RUNS = 500;
let work: string;
const counts = { trees: 0, entries: 0, hardlinks: 0 };

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'mobyts-prop-cpio-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
  process.stdout.write(
    `# cpio round trips: ${counts.trees} trees, ${counts.entries} entries (${counts.hardlinks} hardlinks) extracted by GNU cpio\n`,
  );
});

const component = fc
  .oneof(
    fc.stringMatching(/^[a-zA-Z0-9_ -][a-zA-Z0-9._ -]{0,11}$/),
    fc.constantFrom('é', '日本', 'a b', '-x', 'tab\tname'),
  )
  .filter((c) => c !== '.' && c !== '..' && c !== 'boot');

type Node = {
  kind: 'dir' | 'file' | 'symlink' | 'link';
  parent: number;
  name: string;
  mode: number;
  uid: number;
  gid: number;
  content: Uint8Array;
  target: string;
};
const node: fc.Arbitrary<Node> = fc.record({
  kind: fc.constantFrom<Node['kind']>('dir', 'dir', 'file', 'file', 'file', 'symlink', 'link'),
  parent: fc.nat(),
  name: component,
  mode: fc.integer({ min: 0, max: 0o7777 }),
  uid: fc.integer({ min: 0, max: 65535 }),
  gid: fc.integer({ min: 0, max: 65535 }),
  content: fc.uint8Array({ maxLength: 3000 }),
  target: fc.oneof(fc.constantFrom('/bin/sh', '../x', '.', 'é/ü'), component),
});

interface Expected {
  path: string;
  type: Node['kind'];
  mode: number;
  uid: number;
  gid: number;
  content?: Buffer;
  target?: string;
  linkTo?: string;
}

/** Turns generated nodes into a consistent stream: parents first, unique paths, hardlinks to earlier files. */
function tree(nodes: Node[]): Expected[] {
  const dirs = [''];
  const files: string[] = [];
  const out: Expected[] = [];
  const used = new Set<string>();
  for (const n of nodes) {
    const dir = dirs[n.parent % dirs.length] ?? '';
    const path = dir === '' ? n.name : `${dir}/${n.name}`;
    if (used.has(path) || [...used].some((u) => path.startsWith(`${u}/`) && !dirs.includes(u))) continue;
    if (n.kind === 'link' && files.length === 0) continue;
    used.add(path);
    const base = { path, mode: n.mode, uid: n.uid, gid: n.gid };
    if (n.kind === 'dir') {
      dirs.push(path);
      out.push({ ...base, type: 'dir' });
    } else if (n.kind === 'file') {
      files.push(path);
      out.push({ ...base, type: 'file', content: Buffer.from(n.content) });
    } else if (n.kind === 'symlink') out.push({ ...base, type: 'symlink', target: n.target });
    else {
      // one inode, one set of metadata: a hardlink entry carries its file's (as tar writers emit it)
      const to = out.find((x) => x.path === files[n.parent % files.length]);
      if (to !== undefined) out.push({ path, mode: to.mode, uid: to.uid, gid: to.gid, type: 'link', linkTo: to.path });
    }
  }
  return out;
}

function entries(exp: Expected[]): TarEntry[] {
  return exp.map((e) => ({
    header: {
      name: e.path,
      type: e.type === 'dir' ? ('directory' as const) : e.type,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      mtime: 1700000000,
      size: e.content?.length ?? 0,
      ...(e.target !== undefined ? { linkname: e.target } : e.linkTo !== undefined ? { linkname: e.linkTo } : {}),
    },
    ...(e.type === 'file' ? { body: Readable.from([e.content ?? Buffer.alloc(0)]) } : {}),
  }));
}

/** Every path under `dir`, not following symlinks. */
async function listAll(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const n of await readdir(join(dir, rel))) {
    const p = rel === '' ? n : `${rel}/${n}`;
    out.push(p);
    if ((await lstat(join(dir, p))).isDirectory()) out.push(...(await listAll(dir, p)));
  }
  return out.sort();
}

void test(`${RUNS} generated trees written by the initrd writer and extracted by GNU cpio are identical`, async () => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(node, { minLength: 1, maxLength: 30 }), async (nodes) => {
      const exp = tree(nodes);
      counts.trees++;
      counts.entries += exp.length;
      counts.hardlinks += exp.filter((e) => e.type === 'link').length;
      const dir = join(work, `t${run++}`);
      const out = join(dir, 'initrd.cpio');
      const root = join(dir, 'root');
      await mkdir(root, { recursive: true });
      await writeInitrd(entryStreamOf(entries(exp)), {
        compress: 'none',
        out: createWriteStream(out),
        prependUcode: false,
        reporter: silentReporter,
      });
      execFileSync('sh', ['-c', 'cpio -idm --quiet --no-absolute-filenames -D "$1" < "$2"', 'sh', root, out], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      assert.deepEqual(await listAll(root), exp.map((e) => e.path).sort(), 'the same paths, nothing else');
      for (const e of exp) {
        const st = await lstat(join(root, e.path));
        const what = `${e.path} (${e.type})`;
        if (e.type === 'symlink') {
          assert.ok(st.isSymbolicLink(), what);
          assert.equal(await readlink(join(root, e.path)), e.target, what);
        } else {
          assert.equal(st.mode & 0o7777, e.mode, `${what} mode`);
          assert.equal(e.type === 'dir' ? st.isDirectory() : st.isFile(), true, what);
        }
        assert.equal(st.uid, e.uid, `${what} uid`);
        assert.equal(st.gid, e.gid, `${what} gid`);
        if (e.type === 'file')
          assert.ok((await readFile(join(root, e.path))).equals(e.content ?? Buffer.alloc(0)), `${what} content`);
        if (e.type === 'link') {
          const to = await lstat(join(root, e.linkTo ?? ''));
          assert.equal(st.ino, to.ino, `${what} is a hardlink of ${e.linkTo}`);
        }
      }
      await rm(dir, { recursive: true, force: true });
    }),
    { numRuns: RUNS },
  );
});
