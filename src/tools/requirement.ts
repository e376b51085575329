/** What a host program is to mobyts: its name or path, why it is needed and how to install it. */

/** A host program a format needs, with why and how to install it (reported all at once by the preflight). */
export interface ToolRequirement {
  /** Executable name looked up on PATH, or an absolute path of a data file (e.g. isolinux.bin). */
  command: string;
  why: string;
  install: { debian: string; fedora?: string; macos?: string };
}
