/**
 * Leases keep the blobs a running build uses out of garbage collection, as containerd's leases do: a build's
 * store holds one lease file, `.mobyts/leases/<pid>-<random>.json` (`{pid, host, created, digests}`), and every
 * blob it is about to read or write is added to it under the index lock before it is read or written. gc
 * (`cache rm`, `cache clean`) runs under the same lock and keeps every leased blob, so it never deletes a blob
 * a build is between checking and reading. The lease is removed when the build ends; one left by a process
 * that died is ignored (and removed) by the next gc on this host, or after a day on another host.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Digest } from '../oci/digest.ts';
import { cacheWriteError } from './io-error.ts';
import { processAlive } from '../util/process.ts';

const OTHER_HOST_LEASE_MS = 24 * 3600_000;

function leaseDir(cacheDir: string): string {
  return join(cacheDir, '.mobyts', 'leases');
}

interface LeaseFile {
  pid: number;
  host: string;
  created: number;
  digests: Digest[];
}

/** One build's lease. `add` must be called holding the index lock (Layout.withIndexLock or updateIndex). */
export class Lease {
  readonly #path: string;
  readonly #tmpDir: string;
  readonly #digests = new Set<Digest>();
  readonly #created = Date.now();
  #released = false;

  readonly #readOnly: boolean;

  /** `readOnly`: the cache cannot be written, so nothing can clean it either; the lease holds nothing. */
  constructor(cacheDir: string, readOnly = false) {
    this.#path = join(leaseDir(cacheDir), `${process.pid}-${randomBytes(6).toString('hex')}.json`);
    this.#tmpDir = join(cacheDir, '.mobyts', 'tmp');
    this.#readOnly = readOnly;
  }

  /** Adds `digests` and rewrites the lease file atomically (no-op when all were leased already). */
  async add(digests: Iterable<Digest>): Promise<void> {
    if (this.#released || this.#readOnly) return;
    const before = this.#digests.size;
    for (const d of digests) this.#digests.add(d);
    if (this.#digests.size === before) return;
    const body: LeaseFile = { pid: process.pid, host: hostname(), created: this.#created, digests: [...this.#digests] };
    const tmp = join(this.#tmpDir, `lease-${process.pid}-${randomBytes(6).toString('hex')}`);
    // synchronous: a small file, rewritten under the index lock for each image a build opens (store/layout.ts)
    try {
      mkdirSync(join(this.#path, '..'), { recursive: true });
      writeFileSync(tmp, JSON.stringify(body));
      renameSync(tmp, this.#path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw cacheWriteError(`write the lease "${this.#path}"`, err);
    }
  }

  /** Ends the lease: its blobs may be collected by the next gc. A second call does nothing. */
  async release(): Promise<void> {
    this.#released = true;
    await rm(this.#path, { force: true });
  }
}

/**
 * Every digest a live lease holds (caller holds the index lock). Leases of dead processes on this host, old
 * ones from other hosts and unreadable ones are removed.
 */
export async function leasedDigests(cacheDir: string): Promise<Set<Digest>> {
  const out = new Set<Digest>();
  const names = await readdir(leaseDir(cacheDir)).catch(() => [] as string[]);
  for (const name of names) {
    const path = join(leaseDir(cacheDir), name);
    let lease: Partial<LeaseFile>;
    try {
      lease = JSON.parse(await readFile(path, 'utf8')) as Partial<LeaseFile>;
    } catch {
      // written by rename, so never torn: unreadable means garbage (or it was released just now)
      await rm(path, { force: true });
      continue;
    }
    const live =
      lease.host === hostname()
        ? processAlive(Number(lease.pid))
        : Date.now() -
            (await stat(path).then(
              (s) => s.mtimeMs,
              () => 0,
            )) <
          OTHER_HOST_LEASE_MS;
    if (!live || !Array.isArray(lease.digests)) {
      await rm(path, { force: true });
      continue;
    }
    for (const d of lease.digests) out.add(d);
  }
  return out;
}
