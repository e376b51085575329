/**
 * The OCI layer rules, proven against an independent implementation: seeded generated layer stacks
 * (test/helpers/layer-stacks.ts: a few hundred entries each, every case the rules cover — each stack is checked
 * to hold every one of its CASES, whatever the seed, so no rule drops out of the test unnoticed) are pushed to the
 * real registry, built by the real CLI (`mobyts build -f tar,kernel+initrd`, the stack as the init image),
 * and compared field by field — path, type, mode, owner, mtime, content hash, link target, hardlink
 * grouping — with Debian's `umoci raw unpack` of the same image. The tar is unpacked by GNU tar and the
 * initrd by GNU cpio, so neither side is read by mobyts's own code. The initrd must agree with the tar.
 *
 * Where mobyts differs from umoci on purpose (docs/compat.md "Layers"): device nodes are dropped (an image
 * may not create devices; the build warns), so they are left out of the comparison; umoci gives a directory
 * that later layers add to the time of the unpack, where the spec keeps its header's mtime (those are taken
 * from the tar); and GNU cpio does not restore symlink and directory mtimes from the initrd.
 * A failing seed replays with `MOBYTS_DIFF_SEEDS=<seed>`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startFixture, type Fixture } from '../pipeline/fixture.ts';
import { pushImage } from '../helpers/images.ts';
import {
  CASES,
  casesOf,
  generateStack,
  imageOf,
  RESERVED_TOP,
  walkTree,
  writeUmociLayout,
  type Observed,
} from '../helpers/layer-stacks.ts';

const SEEDS = (process.env['MOBYTS_DIFF_SEEDS'] ?? '1,2,3').split(',').map(Number);
const ROOT = process.getuid?.() === 0;
const hasUmoci = (() => {
  try {
    execFileSync('umoci', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let f: Fixture;
before(async () => {
  f = await startFixture();
});
after(() => f.cleanup());

/** The image's own paths: what the assembly adds (kernel, init touch-ups) and device nodes left out. */
function imageView(
  tree: Map<string, Observed>,
  opts: { owners: boolean; dirMtimes: boolean; symlinkMtimes: boolean },
): Map<string, Observed> {
  const out = new Map<string, Observed>();
  for (const [p, o] of tree) {
    if (RESERVED_TOP.has(p.split('/')[0] ?? '') || o.type === 'char' || o.type === 'block') continue;
    const v: Observed = { ...o };
    if (!opts.owners) v.owner = '-';
    if ((!opts.dirMtimes && o.type === 'dir') || (!opts.symlinkMtimes && o.type === 'symlink')) v.mtime = 0;
    out.set(p, v);
  }
  return out;
}

/** Differences as readable lines (at most 40), so a failure shows the paths and fields at once. */
function diff(a: Map<string, Observed>, b: Map<string, Observed>, names: [string, string]): string[] {
  const out: string[] = [];
  for (const p of new Set([...a.keys(), ...b.keys()])) {
    const x = JSON.stringify(a.get(p));
    const y = JSON.stringify(b.get(p));
    if (x !== y) out.push(`${JSON.stringify(p)}\n    ${names[0]}: ${x}\n    ${names[1]}: ${y}`);
  }
  return out.slice(0, 40);
}

for (const seed of SEEDS) {
  void test(
    `layer stack ${seed}: mobyts's tar and initrd equal umoci's unpack, field by field`,
    { skip: hasUmoci ? false : 'umoci not installed (scripts/setup)', timeout: 120_000 },
    async () => {
      const started = Math.floor(Date.now() / 1000) - 1;
      const stack = generateStack(seed);
      const entries = stack.reduce((n, l) => n + l.length, 0);
      assert.ok(entries > 250, `seed ${seed} made only ${entries} entries`);
      const covered = casesOf(stack);
      assert.deepEqual(
        CASES.filter((c) => !covered.has(c)),
        [],
        `seed ${seed}: the stack lacks these cases of the layer rules`,
      );
      const image = imageOf(stack);
      await pushImage(f.host, `diff/stack${seed}:1`, image);
      const work = join(f.dir, `diff-${seed}`);
      await mkdir(work, { recursive: true });

      const layout = join(work, 'layout');
      await writeUmociLayout(layout, 'latest', image);
      execFileSync(
        'umoci',
        ['raw', 'unpack', ...(ROOT ? [] : ['--rootless']), '--image', `${layout}:latest`, join(work, 'umoci')],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );

      const spec = await f.spec(
        `diff-${seed}.yml`,
        'kernel:\n  image: HOST/test/kernel:1\ninit:\n  - HOST/diff/stack' + `${seed}:1\n`,
      );
      const r = await f.cli(['-f', 'tar,kernel+initrd', '--name', 'os', '-d', work, spec]);
      assert.equal(r.code, 0, r.stderr);
      const umociTree = await walkTree(join(work, 'umoci'));
      const devices = [...umociTree.values()].filter((o) => o.type === 'char').length;
      if (devices > 0)
        assert.match(r.stderr, /Dropped \d+ device node\(s\) from ".*diff\/stack\d+:1": images may not create devices/);

      const fromTar = join(work, 'tar');
      await mkdir(fromTar);
      execFileSync('tar', [
        '-xpf',
        join(work, 'os.tar'),
        '--numeric-owner',
        '--delay-directory-restore',
        '--warning=no-unknown-keyword',
        '-C',
        fromTar,
      ]);
      const fromInitrd = join(work, 'initrd');
      await mkdir(fromInitrd);
      const cpio = execFileSync('gzip', ['-dc', join(work, 'os-initrd.img')], { maxBuffer: 1 << 30 });
      await writeFile(join(work, 'initrd.cpio'), cpio);
      execFileSync('sh', ['-c', 'cpio -idm --quiet --no-absolute-filenames < "$1"', 'sh', join(work, 'initrd.cpio')], {
        cwd: fromInitrd,
      });

      const full = { owners: ROOT, dirMtimes: true, symlinkMtimes: true };
      const tarTree = await walkTree(fromTar);
      assert.deepEqual(
        [...tarTree].filter(([, o]) => o.type === 'char' || o.type === 'block').map(([p]) => p),
        [],
        'device nodes are dropped',
      );
      const tar = imageView(tarTree, full);
      const umoci = imageView(umociTree, full);
      // umoci is wrong here by the layer spec: a directory that later layers add to gets the time of the unpack
      // (umoci does not restore it), where the spec keeps its header's mtime. Only those are taken from the tar.
      for (const [p, o] of umoci) if (o.type === 'dir' && o.mtime >= started) o.mtime = tar.get(p)?.mtime ?? o.mtime;
      assert.ok(umoci.size > 50, `umoci unpacked only ${umoci.size} paths`);
      assert.deepEqual(diff(tar, umoci, ['mobyts tar', 'umoci']), [], `seed ${seed}`);
      const cpioView = { owners: ROOT, dirMtimes: false, symlinkMtimes: false };
      const initrd = imageView(await walkTree(fromInitrd), cpioView);
      assert.deepEqual(diff(initrd, imageView(tarTree, cpioView), ['mobyts initrd', 'mobyts tar']), [], `seed ${seed}`);
    },
  );
}
