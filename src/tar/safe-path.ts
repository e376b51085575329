/**
 * Path safety for image content (docs/architecture.md#path-safety). Names are confined to the root; a later
 * entry may never be written through a symlink; hardlinks must point at something already in the stream;
 * device nodes from images are dropped.
 *
 * Policy, decided here once:
 * - `..` that would climb above the root → UNSAFE_CONTENT (never silently rewritten: it is always malice
 *   or a broken layer). A leading `/` (name or hardlink target) is confined: `/etc/x` means `etc/x`.
 * - symlinks may point anywhere (they are resolved inside the guest's root at runtime) but no entry's parent
 *   path, nor a hardlink target's parent path, may be a symlink of the same stream, in either order.
 * - hardlinks must name an earlier non-directory entry of the same stream (a dangling or forward link, or a
 *   link to a directory, is rejected).
 * - character and block devices are dropped (an image has no business shipping device nodes; /dev is a
 *   devtmpfs at runtime); fifos are kept (harmless, and some images create them at build time).
 */
import { MobyError } from '../util/errors.ts';
import type { Reporter } from '../util/reporter.ts';
import type { EntryStream, TarEntry } from './entry.ts';

/** What `cleanName` says of a path whose `..` climbs above the root. */
export const ESCAPES_ROOT = 'escapes the root with ".."';

/** UNSAFE_CONTENT for one path, keeping the path and what is wrong with it as fields for callers to match. */
export class UnsafePathError extends MobyError {
  readonly path: string;
  readonly detail: string;

  constructor(subject: string, path: string, detail: string) {
    super(`Refusing unsafe content in "${subject}": "${path}" ${detail}`, {
      code: 'UNSAFE_CONTENT',
      hint: 'the image or layer is malformed or malicious; rebuild it or use another image',
    });
    this.path = path;
    this.detail = detail;
  }
}

function unsafe(subject: string, path: string, detail: string): UnsafePathError {
  return new UnsafePathError(subject, path, detail);
}

/**
 * Cleans a tar path lexically: strips leading `/` and `./`, trailing `/`, collapses `//` and `.`, resolves
 * `..` inside the path. Returns `''` for the root itself. Throws UNSAFE_CONTENT when `..` climbs out.
 */
export function cleanName(raw: string, subject = 'tar'): string {
  if (raw.includes('\0')) throw unsafe(subject, raw.replaceAll('\0', '\\0'), 'contains a NUL byte');
  const out: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw unsafe(subject, raw, ESCAPES_ROOT);
      out.pop();
    } else out.push(part);
  }
  return out.join('/');
}

/** Every proper ancestor of a clean name: `a/b/c` → `a`, `a/b`. */
export function ancestors(name: string): string[] {
  const out: string[] = [];
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) out.push(name.slice(0, i));
  return out;
}

export interface SafeEntriesOptions {
  /** Names the image/layer in errors. */
  subject: string;
  /** Receives the dropped-devices warning: required, so no warning is emitted into nothing. */
  reporter: Reporter;
  /**
   * Accept hardlinks whose target is not earlier in this stream (a single layer may link to a lower layer);
   * the caller resolves them. Links through symlinks and to directories are still rejected.
   */
  allowUnresolvedLinks?: boolean;
  /**
   * Names that are markers, not content (a layer's whiteouts): checked like any entry (never through a
   * symlink) but not recorded, so a later entry of the stream may still replace their directory.
   */
  isMarker?: (name: string) => boolean;
  /** Pass device nodes on (a later stage drops them and warns): a layer's device still hides lower entries. */
  keepDevices?: boolean;
}

/** Tracks what the stream has produced so far: names only (memory is proportional to the name count). */
class SafetyState {
  readonly symlinks = new Set<string>();
  readonly parents = new Set<string>();
  readonly nonDirs = new Set<string>();
  readonly dirs = new Set<string>();
  readonly subject: string;
  readonly strictLinks: boolean;
  constructor(subject: string, strictLinks: boolean) {
    this.subject = subject;
    this.strictLinks = strictLinks;
  }

  check(e: TarEntry): void {
    const { name, type, linkname } = e.header;
    if (name === '' && type !== 'directory') throw unsafe(this.subject, '/', `is a ${type}, not a directory`);
    for (const a of ancestors(name)) {
      if (this.symlinks.has(a)) throw unsafe(this.subject, name, `would be written through the symlink "${a}"`);
    }
    if (type === 'symlink' && this.parents.has(name)) {
      throw unsafe(this.subject, name, 'is a symlink but earlier entries were written below it');
    }
    if (type === 'link') this.checkLink(name, linkname ?? '');
  }

  private checkLink(name: string, target: string): void {
    for (const a of ancestors(target)) {
      if (this.symlinks.has(a)) throw unsafe(this.subject, name, `is a hardlink through the symlink "${a}"`);
    }
    if (this.dirs.has(target)) throw unsafe(this.subject, name, `is a hardlink to the directory "${target}"`);
    if (this.strictLinks && !this.nonDirs.has(target))
      throw unsafe(this.subject, name, `is a hardlink to "${target}", which is not earlier in the archive`);
  }

  record(e: TarEntry): void {
    const { name, type } = e.header;
    for (const a of ancestors(name)) this.parents.add(a);
    if (type === 'symlink') this.symlinks.add(name);
    else this.symlinks.delete(name);
    if (type === 'directory') {
      this.dirs.add(name);
      this.nonDirs.delete(name);
    } else {
      this.nonDirs.add(name);
      this.dirs.delete(name);
    }
  }
}

/**
 * Passes entries through the policy above, in order: throws UNSAFE_CONTENT (naming `subject` and the path)
 * at the first violation, drops device nodes (one `warn` event per stream naming how many). Bodies are
 * passed through untouched; a dropped entry's body is destroyed.
 */
export async function* safeEntries(entries: EntryStream, opts: SafeEntriesOptions): EntryStream {
  const state = new SafetyState(opts.subject, opts.allowUnresolvedLinks !== true);
  let devices = 0;
  for await (const e of entries) {
    if (opts.keepDevices !== true && (e.header.type === 'character-device' || e.header.type === 'block-device')) {
      devices++;
      continue;
    }
    state.check(e);
    if (opts.isMarker?.(e.header.name) !== true) state.record(e);
    yield e;
  }
  if (devices > 0) {
    opts.reporter.emit({
      type: 'warn',
      message: `Dropped ${devices} device node(s) from "${opts.subject}": images may not create devices`,
    });
  }
}
