/**
 * Path safety for image content (docs/architecture.md#path-safety): a layer can never place an entry outside the
 * directory it is unpacked into. Names are cleaned as if rooted at `/` (so `..` stops at the root) BEFORE the
 * prefix is added; hardlink targets get the same treatment.
 */
import { posix } from 'node:path';

/** `./a//b/../c/` → `a/c`; `../../etc/passwd` → `etc/passwd`; `/` or `.` → `` (the root itself). */
export function cleanName(name: string): string {
  return posix.normalize(`/${name}`).replace(/^\/+/, '').replace(/\/+$/, '');
}

/** `prefix/name` for a cleaned name; the root of an image (``) maps to the prefix itself. */
export function prefixed(prefix: string, clean: string): string {
  if (prefix === '') return clean;
  return clean === '' ? prefix : `${prefix}/${clean}`;
}
