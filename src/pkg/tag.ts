/**
 * A package's tag: a hash of its inputs, as LinuxKit tags packages by their git tree hash
 * (docs/linuxkit-behaviour.md#templates). Inputs: every file under the package directory (path, executable bit,
 * content or symlink target), the output of its `fingerprint` command once per build.yml arch (run with
 * MOBYTS_ARCH set: the host or Debian packages the prepare step copies for that arch), and the base package's
 * tag. One tag covers every platform, so platforms built at different times land in the same index. Staged
 * files are not hashed, so the tag is known without running `prepare` (which may download); the image digest
 * still covers them.
 */
import { createHash, type Hash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execCapture } from '../tools/spawn.ts';
import { MobyError } from '../util/errors.ts';
import { readPackageSpec, type PackageSpec } from './build-yml.ts';

/** Relative paths of every entry under `dir`, sorted byte-wise, directories before their contents. */
export async function listTree(dir: string, prefix = ''): Promise<string[]> {
  const names = (await readdir(join(dir, prefix))).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: string[] = [];
  for (const name of names) {
    const rel = prefix === '' ? name : `${prefix}/${name}`;
    out.push(rel);
    const st = await lstat(join(dir, rel));
    if (st.isDirectory()) out.push(...(await listTree(dir, rel)));
  }
  return out;
}

async function hashTree(h: Hash, dir: string): Promise<void> {
  for (const rel of await listTree(dir)) {
    const p = join(dir, rel);
    const st = await lstat(p);
    if (st.isDirectory()) h.update(`d ${rel}\0`);
    else if (st.isSymbolicLink()) h.update(`l ${rel}\0${await readlink(p)}\0`);
    else h.update(`f ${rel} ${(st.mode & 0o111) !== 0 ? 'x' : '-'} ${st.size}\0`).update(await readFile(p));
  }
}

async function fingerprint(dir: string, command: string, arch: string): Promise<string> {
  try {
    return (
      await execCapture('sh', ['-c', command], {
        cwd: dir,
        maxBuffer: 1 << 20,
        env: { ...process.env, MOBYTS_ARCH: arch },
      })
    ).stdout;
  } catch (err) {
    throw new MobyError(`Cannot fingerprint package "${dir}": \`${command}\` failed`, {
      code: 'TOOL_FAILED',
      cause: err,
    });
  }
}

export interface PackageInfo {
  dir: string;
  spec: PackageSpec;
  tag: string;
  /** `<org>/<image>:<tag>`, as `linuxkit pkg show-tag` prints it. */
  ref: string;
  base?: PackageInfo;
}

/**
 * Outputs of `fingerprint` commands by package directory, command and arch, shared by the packages of one spec
 * or one `pkg` command: a base package (busybox under init, hello and getty) is fingerprinted once, not once per
 * package that builds on it — each run asks apt, about a second apiece.
 */
export type FingerprintMemo = Map<string, Promise<string>>;

/** Reads the package at `dir` (and its base chain) and computes its tag. Rejects on a base cycle. */
export async function packageInfo(
  dir: string,
  seen: readonly string[] = [],
  fingerprints: FingerprintMemo = new Map(),
): Promise<PackageInfo> {
  const abs = resolve(dir);
  if (seen.includes(abs))
    throw new MobyError(`Invalid package "${dir}": base packages form a cycle (${[...seen, abs].join(' → ')})`, {
      code: 'SPEC_INVALID',
    });
  const spec = await readPackageSpec(abs);
  const command = spec.fingerprint;
  // every arch's fingerprint and the base chain run at once; they are hashed below in a fixed order
  const prints = Promise.all(
    (command === undefined ? [] : spec.arches).map((arch) => {
      const key = `${abs}\0${command}\0${arch}`;
      let out = fingerprints.get(key);
      if (out === undefined) fingerprints.set(key, (out = fingerprint(abs, command ?? '', arch)));
      return out;
    }),
  );
  prints.catch(() => undefined); // awaited below; a base failing first must not leave it unhandled
  const base =
    spec.base === undefined ? undefined : await packageInfo(resolve(abs, spec.base), [...seen, abs], fingerprints);
  const h = createHash('sha256').update('mobyts-pkg-v1\0');
  await hashTree(h, abs);
  (await prints).forEach((out, i) => {
    // The arch joins the hash only for multi-arch packages, so an amd64-only package keeps its tag.
    const label = spec.arches.length === 1 ? 'fingerprint' : `fingerprint ${spec.arches[i]!}`;
    h.update(`${label}\0${out}\0`);
  });
  if (base !== undefined) h.update(`base\0${base.ref}\0`);
  const tag = h.digest('hex').slice(0, 40);
  return { dir: abs, spec, tag, ref: `${spec.org}/${spec.image}:${tag}`, ...(base === undefined ? {} : { base }) };
}
