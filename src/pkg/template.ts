/**
 * `@pkg:PATH` in a spec (docs/linuxkit-behaviour.md#templates): the package directory PATH (relative to the spec's
 * directory, or absolute) becomes its image name `<org>/<image>:<tag>`, as `linuxkit pkg show-tag` prints it. Unlike
 * LinuxKit, an unbuilt package is an error that says how to build it, since there is no registry to fall back on.
 */
import { resolve } from 'node:path';
import { parseReference } from '../oci/reference.ts';
import { openStore } from '../store/index.ts';
import { MobyError } from '../util/errors.ts';
import { packageInfo, type FingerprintMemo, type PackageInfo } from './tag.ts';

export const PKG_PREFIX = '@pkg:';

export interface PkgResolverOptions {
  /** Store to check for the built image (default $LINUXKIT_CACHE or ~/.linuxkit/cache). */
  cache?: string;
  /** Reject when the image is not in the store (default true). */
  requireBuilt?: boolean;
}

/**
 * A template resolver for `loadSpecs({ resolveTemplate })`: values other than `@pkg:…` resolve to undefined;
 * a directory without build.yml resolves to undefined (reported by the spec loader as an issue); a package
 * not yet built rejects with a MobyError naming `mobyts pkg build PATH`.
 */
export function createPkgResolver(
  opts: PkgResolverOptions = {},
): (value: string, baseDir: string) => Promise<string | undefined> {
  // One spec names a package several times (hello.yml: three containers of @pkg:./packages/hello), and its
  // packages share bases: each package's tag, and each fingerprint, is computed once per resolver.
  const fingerprints: FingerprintMemo = new Map();
  const infos = new Map<string, Promise<PackageInfo | undefined>>();
  const infoOf = (dir: string): Promise<PackageInfo | undefined> => {
    let info = infos.get(dir);
    if (info === undefined) {
      info = packageInfo(dir, [], fingerprints).catch((err: unknown) => {
        if (err instanceof MobyError && err.code === 'NOT_FOUND') return undefined;
        throw err;
      });
      infos.set(dir, info);
    }
    return info;
  };
  return async (value, baseDir) => {
    if (!value.startsWith(PKG_PREFIX)) return undefined;
    const dir = resolve(baseDir, value.slice(PKG_PREFIX.length));
    const info = await infoOf(dir);
    if (info === undefined) return undefined;
    if (opts.requireBuilt === false) return info.ref;
    const store = await openStore(opts.cache);
    if ((await store.getRef(parseReference(info.ref).expanded)) === undefined) {
      throw new MobyError(`Cannot use "${value}": package ${info.ref} is not built`, {
        code: 'NOT_FOUND',
        hint: `build it first: mobyts pkg build${opts.cache === undefined ? '' : ` --cache ${opts.cache}`} ${dir}`,
      });
    }
    return info.ref;
  };
}

/** `@pkg:PATH` → `<org>/<image>:<tag>` with the default store, requiring the package to be built. */
export function resolvePkgTemplate(value: string, baseDir: string): Promise<string | undefined> {
  return createPkgResolver()(value, baseDir);
}
