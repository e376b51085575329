/**
 * `--input-tar` (docs/linuxkit-behaviour.md#input-tar): sections of a previous `tar` output are copied instead of
 * regenerated when nothing that shapes them changed. Every build tags the first entry of each kernel, volume and
 * container section with a PAX record `MOBYTS.section` = sha256 of everything the section depends on (image digest,
 * the spec entry, the id map, volumes, mtime, …); a section is reused only when the old tar has the same
 * location with the same key, so a changed cmdline, a moved tag or a changed entry is always regenerated
 * (LinuxKit keeps a stale `boot/cmdline` and drops unchanged volumes). Init images are always regenerated:
 * their merge (last image wins, apk database) needs all of them. A tar written by LinuxKit has no keys, so
 * nothing is reused from it.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { EntryStream, TarEntry, TarHeader } from '../tar/entry.ts';
import { PAX_LOCATION } from './constants.ts';
import type { KernelParts } from './kernel.ts';
import { discardBody, readBody } from './synth.ts';

export const PAX_SECTION_KEY = 'MOBYTS.section';
const KEY_VERSION = 1;

/** The key of a section: a digest of its inputs (any JSON value). */
export function sectionKey(inputs: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify({ v: KEY_VERSION, inputs }))
    .digest('hex');
}

function pax(header: TarHeader, key: string): string | undefined {
  return header.pax?.find(([k]) => k === key)?.[1].toString();
}

/** The header with its section key record set (replacing an old one). */
export function withSectionKey(header: TarHeader, key: string): TarHeader {
  const kept = (header.pax ?? []).filter(([k]) => k !== PAX_SECTION_KEY);
  return { ...header, pax: [...kept, [PAX_SECTION_KEY, Buffer.from(key)]] };
}

/** A previous tar output read forward once; sections must be taken in the order they appear in it. */
export class InputTar {
  private readonly keys: Map<string, string>;
  private readonly it: AsyncIterator<TarEntry>;
  private pending: TarEntry | undefined;
  private done = false;

  private constructor(keys: Map<string, string>, it: AsyncIterator<TarEntry>) {
    this.keys = keys;
    this.it = it;
  }

  /** Indexes the section keys of `open()`'s tar (headers only), then opens it again for copying. */
  static async open(open: () => EntryStream): Promise<InputTar> {
    const keys = new Map<string, string>();
    for await (const e of open()) {
      const location = pax(e.header, PAX_LOCATION);
      const key = pax(e.header, PAX_SECTION_KEY);
      if (location !== undefined && key !== undefined && !keys.has(location)) keys.set(location, key);
      await discardBody(e);
    }
    return new InputTar(keys, open()[Symbol.asyncIterator]());
  }

  matches(location: string, key: string): boolean {
    return this.keys.get(location) === key;
  }

  private async next(): Promise<TarEntry | undefined> {
    if (this.pending !== undefined) {
      const p = this.pending;
      this.pending = undefined;
      return p;
    }
    if (this.done) return undefined;
    const r = await this.it.next();
    if (r.done === true) this.done = true;
    return r.done === true ? undefined : r.value;
  }

  /** The entries of section `location` (skipping anything before it). */
  async *take(location: string): EntryStream {
    let inSection = false;
    for (let e = await this.next(); e !== undefined; e = await this.next()) {
      const here = pax(e.header, PAX_LOCATION) === location;
      if (!here && inSection) {
        this.pending = e;
        return;
      }
      if (here) {
        inSection = true;
        yield e;
      } else {
        await discardBody(e);
      }
    }
  }

  /** Reads the rest of the tar so its file is closed. */
  async close(): Promise<void> {
    if (this.pending !== undefined) await discardBody(this.pending);
    if (!this.done) await this.it.return?.();
  }
}

/** The section from the input tar when its key matches (calling `onReuse`), else `generate()`. */
export async function* reuseOr(
  r: InputTar | undefined,
  s: { location: string; key: string; onReuse(): void },
  generate: () => EntryStream,
): EntryStream {
  if (r?.matches(s.location, s.key) === true) {
    s.onReuse();
    yield* r.take(s.location);
  } else {
    yield* generate();
  }
}

/** Passes a reused kernel section through, capturing boot/kernel, boot/cmdline and boot/ucode.cpio. */
export async function* captureKernel(entries: EntryStream, onParts: (p: KernelParts) => void): EntryStream {
  const parts: KernelParts = { kernel: Buffer.alloc(0), cmdline: '' };
  for await (const e of entries) {
    const n = e.header.name;
    if (n !== 'boot/kernel' && n !== 'boot/cmdline' && n !== 'boot/ucode.cpio') {
      yield e;
      continue;
    }
    const body = await readBody(e);
    if (n === 'boot/kernel') parts.kernel = body;
    else if (n === 'boot/cmdline') parts.cmdline = body.toString();
    else parts.ucode = body;
    yield { header: e.header, body: Readable.from([body]) };
  }
  onParts(parts);
}
