/**
 * One entry per path in the root filesystem stream. LinuxKit writes duplicates and relies on "the last entry
 * wins" when the tar or cpio is unpacked; we emit each path once and decide up front which entry that is,
 * so that unpacking our stream gives the filesystem unpacking LinuxKit's would:
 * - a non-directory path goes to its LAST provider in stream order (`claims`: later init images, `files`,
 *   the SBOM, the Dockerfile claim their paths before earlier sections are written);
 * - a directory keeps its FIRST entry: it must precede its children (the kernel's initramfs unpacker does not
 *   create missing parents), so a later image cannot change the mode of `/etc` (LinuxKit's would, silently).
 * A parent directory that has not been written when its first child comes is written first, so every path
 * can be created when the initrd is unpacked: with the image's own header for it when known (`hintDirs`;
 * flattening yields upper layers first, so a file can precede its directory from a lower layer), else
 * synthesized (0755, root, the build's mtime, the child's provenance).
 */
import type { EntryStream, TarEntry, TarHeader } from '../tar/entry.ts';
import { PAX_LOCATION, PAX_SOURCE } from './constants.ts';
import { MobyError } from '../util/errors.ts';
import { withSectionKey } from './reuse.ts';
import { dirEntry, discardBody, parentsOf } from './synth.ts';

export class PathTracker {
  private readonly mtime: number;
  private readonly emitted = new Map<string, TarHeader['type']>();
  /** Path → owner id of the entry that must win for that path. */
  readonly claims = new Map<string, string>();
  private readonly dirHints = new Map<string, TarHeader>();
  /** What has been written since `startLog()`, in order (a section's record, see assemble.ts). */
  private log: Array<[string, TarHeader['type']]> | undefined;

  constructor(mtime: number) {
    this.mtime = mtime;
  }

  /** Records that `owner` provides `path` and is later in the stream than any earlier claimant. */
  claim(path: string, owner: string): void {
    this.claims.set(path, owner);
  }

  /** Directory headers to use when one of these directories has to be written before its turn. */
  hintDirs(headers: Iterable<TarHeader>): void {
    for (const h of headers) if (!this.dirHints.has(h.name)) this.dirHints.set(h.name, h);
  }

  /** Starts recording the paths written, for `takeLog`. */
  startLog(): void {
    this.log = [];
  }

  /** The paths written since `startLog()`, and stops recording. */
  takeLog(): Array<[string, TarHeader['type']]> {
    const log = this.log ?? [];
    this.log = undefined;
    return log;
  }

  /** Records paths an earlier build's section wrote, as if they had been written now (replay). */
  replay(written: Iterable<[string, TarHeader['type']]>): void {
    for (const [name, type] of written) this.emitted.set(name, type);
  }

  private written(name: string, type: TarHeader['type']): void {
    this.emitted.set(name, type);
    this.log?.push([name, type]);
  }

  has(path: string): boolean {
    return this.emitted.has(path);
  }

  typeOf(path: string): TarHeader['type'] | undefined {
    return this.emitted.get(path);
  }

  /**
   * Whether `owner`'s entry for this header is written; records it when it is. A hardlink whose target was
   * not written (a later image replaces the target) cannot be honoured and fails the build (UNSAFE_CONTENT).
   */
  admit(header: TarHeader, owner: string): boolean {
    if (this.emitted.has(header.name)) return false;
    const claimant = this.claims.get(header.name);
    if (header.type !== 'directory' && claimant !== undefined && claimant !== owner) return false;
    if (header.type === 'link' && !this.emitted.has(header.linkname ?? '')) {
      const by = this.claims.get(header.linkname ?? '');
      throw new MobyError(
        `Cannot add the hardlink "${header.name}" of ${owner}: its target "${header.linkname ?? ''}" is ${by === undefined ? 'not in the image' : `replaced by ${by}`}`,
        {
          code: 'UNSAFE_CONTENT',
          hint: 'the images overlap on a hardlinked file; make the link a copy in the image, or drop the overlap',
        },
      );
    }
    this.written(header.name, header.type);
    return true;
  }

  /** Directories to write before `header` because none of its parents has been written yet. */
  missingParents(header: TarHeader, owner: string): TarEntry[] {
    const pax = new Map(header.pax ?? []);
    const p = {
      source: pax.get(PAX_SOURCE)?.toString() ?? '',
      location: pax.get(PAX_LOCATION)?.toString() ?? owner,
      mtime: this.mtime,
    };
    return parentsOf(header.name)
      .filter((d) => !this.emitted.has(d))
      .map((d) => {
        const hint = this.dirHints.get(d);
        return hint === undefined ? dirEntry(d, p) : { header: hint };
      });
  }

  /**
   * Passes the admitted entries of `entries` through (after any missing parents), draining the others.
   * With `key`, the first entry written carries it as the section key (reuse.ts).
   */
  async *filter(entries: EntryStream, owner: string, key?: string): EntryStream {
    let first = key !== undefined;
    for await (const entry of entries) {
      if (!this.admit(entry.header, owner)) {
        await discardBody(entry);
        continue;
      }
      const parents = this.missingParents(entry.header, owner);
      for (const d of parents) this.written(d.header.name, 'directory');
      const out = [...parents, entry];
      if (first && key !== undefined) {
        const head = out[0] as TarEntry;
        out[0] = { header: withSectionKey(head.header, key), ...(head.body === undefined ? {} : { body: head.body }) };
        first = false;
      }
      yield* out;
    }
  }
}
