/**
 * A section of the root filesystem stream (assemble.ts `assembleSections`): the unit the initrd is segmented
 * by and the section cache keeps (src/initrd/segments.ts, src/store/sections.ts).
 */
import type { KeptBlob } from '../store/sections.ts';
import type { EntryStream, EntryType } from '../tar/entry.ts';

/** What a section records when generated, so that a later build can replay it without reading its entries. */
export interface SectionRecord {
  /** The paths the section wrote, in order, with their types. */
  emitted: Array<[string, EntryType]>;
  /** Small JSON data the section needs on replay (e.g. the kernel's cmdline, the warnings it gave). */
  json?: unknown;
  /** Larger data the section needs on replay (e.g. the kernel binary). */
  blobs?: Record<string, Buffer>;
  /**
   * On replay from the section cache: blobs it handed over unread instead of in `blobs` (the kernel binary and
   * the microcode, which the build only copies into files: store/sections.ts `copyKeptBlob`).
   */
  kept?: Record<string, KeptBlob>;
}

export interface RootfsSection {
  /** `kernel`, `init[0]`, `volume[0]`, `onboot[0]`, `services[2]`, `files`, `trailer`. */
  readonly id: string;
  /** Digest of everything that determines the section's entries (hex). */
  readonly key: string;
  /** The entries; read at most once, drained before the next section is asked for. */
  entries(): EntryStream;
  /** Instead of `entries()`: the section as an earlier build with the same key recorded it. */
  replay(record: SectionRecord): void;
  /** After `entries()` was drained: what `replay` needs. */
  record(): SectionRecord;
}
