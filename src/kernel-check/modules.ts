/**
 * The kernel's loadable modules as its modules tar (`kernel.tar`) puts them into the filesystem:
 * `lib/modules/<version>/modules.dep` and the `.ko` files it names. Used to decide whether a format whose root
 * needs a module can still boot (through a loader initrd) and which files, in which order, that loader loads.
 * Pure apart from reading the tar stream.
 */
import type { EntryStream } from '../tar/entry.ts';

export interface ModuleIndex {
  /** The kernel release the modules are for (`6.1.0-57-amd64`). */
  version: string;
  /** Module name (`-` written `_`) → its path relative to `lib/modules/<version>/` and its dependencies' names. */
  modules: ReadonlyMap<string, { path: string; deps: readonly string[] }>;
}

/** `kernel/fs/squashfs/squashfs.ko.xz` → `squashfs`; `crc32c-intel` → `crc32c_intel` (the kernel's own spelling). */
export function moduleName(pathOrName: string): string {
  const base = pathOrName.slice(pathOrName.lastIndexOf('/') + 1);
  return base.replace(/\.ko(\.(gz|xz|zst))?$/, '').replaceAll('-', '_');
}

/** Parses modules.dep (`path: dep-path dep-path…`), keeping only modules whose file `present` says exists. */
export function parseModulesDep(text: string, version: string, present: (path: string) => boolean): ModuleIndex {
  const modules = new Map<string, { path: string; deps: string[] }>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const path = line.slice(0, colon).trim();
    if (!present(path)) continue;
    const deps = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .filter((d) => d !== '')
      .map(moduleName);
    modules.set(moduleName(path), { path, deps });
  }
  return { version, modules };
}

/**
 * The module files to load for `names`, dependencies first, each once, in a stable order (a dependency's
 * own dependencies before it). Returns the names it cannot find (a module or a dependency's file absent).
 */
export function loadOrder(index: ModuleIndex, names: readonly string[]): { paths: string[]; missing: string[] } {
  const paths: string[] = [];
  const missing: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const m = index.modules.get(name);
    if (m === undefined) {
      missing.push(name);
      return;
    }
    for (const d of [...m.deps].reverse()) visit(d);
    paths.push(m.path);
  };
  for (const n of names) visit(moduleName(n));
  return { paths, missing };
}

const DEP_PATH = /^lib\/modules\/([^/]+)\/modules\.dep$/;
const KO_PATH = /^lib\/modules\/([^/]+)\/(.+\.ko(\.(gz|xz|zst))?)$/;

/**
 * The module index of a filesystem tar's `lib/modules/<version>/` (the lowest version with a modules.dep; its
 * last modules.dep entry wins, as extraction would leave it), or undefined when it has none. Drains the stream; buffers only modules.dep.
 */
export async function moduleIndexOf(entries: EntryStream): Promise<ModuleIndex | undefined> {
  const files = new Map<string, Set<string>>();
  const deps = new Map<string, string>();
  for await (const e of entries) {
    const name = e.header.name;
    const dep = DEP_PATH.exec(name);
    const ko = KO_PATH.exec(name);
    if (dep !== null && e.header.type === 'file' && e.body !== undefined) {
      const chunks: Buffer[] = [];
      for await (const c of e.body) chunks.push(c as Buffer);
      deps.set(dep[1]!, Buffer.concat(chunks).toString('utf8')); // a later entry replaces an earlier one, as on disk
      continue;
    }
    if (ko !== null && e.header.type === 'file') {
      const set = files.get(ko[1]!) ?? new Set<string>();
      set.add(ko[2]!);
      files.set(ko[1]!, set);
    }
    e.body?.resume();
  }
  const [version, text] = [...deps.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))[0] ?? [];
  if (version === undefined || text === undefined) return undefined;
  return parseModulesDep(text, version, (p) => files.get(version)?.has(p) === true);
}
