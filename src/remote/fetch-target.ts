/**
 * `mobyts run qemu REF`: when NAME is no local file or build prefix but a reference with a registry, the
 * artifact is pulled into a private directory, booted from there, and the directory removed afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseReference } from '../oci/reference.ts';
import { findBootTarget } from '../run/targets.ts';
import type { RegistryOptions } from '../store/types.ts';
import { isMobyError } from '../util/errors.ts';
import type { Reporter } from '../util/reporter.ts';
import { pullArtifact } from './artifact.ts';

/** A reference whose first component names a registry (`host:port/x`, `registry.example/x:tag`). */
export function namesRegistry(name: string): boolean {
  const first = name.split('/')[0] ?? '';
  if (!name.includes('/') || !(first.includes('.') || first.includes(':') || first === 'localhost')) return false;
  try {
    parseReference(name);
    return true;
  } catch {
    return false;
  }
}

/** True when NAME boots from this machine (a file or build prefix that exists): local outputs win over references. */
async function bootsLocally(name: string, format?: string): Promise<boolean> {
  try {
    await findBootTarget(name, format);
    return true;
  } catch (err) {
    if (isMobyError(err) && err.code === 'NOT_FOUND') return false;
    throw err;
  }
}

/**
 * Calls `boot` with what to boot for `name`: `name` itself when it is local or no registry reference, else
 * the prefix (or the single file) of the artifact pulled from the registry into a temporary directory,
 * which is removed when `boot` settles.
 */
export async function withBootable<T>(
  name: string,
  opts: { format?: string; registry: RegistryOptions; reporter: Reporter; signal?: AbortSignal },
  boot: (name: string) => Promise<T>,
): Promise<T> {
  if (!namesRegistry(name) || (await bootsLocally(name, opts.format))) return boot(name);
  const dir = await mkdtemp(join(tmpdir(), 'mobyts-run-'));
  try {
    opts.reporter.emit({ type: 'info', message: `Pulling ${name}` });
    const pulled = await pullArtifact({
      ref: name,
      dir,
      registry: opts.registry,
      reporter: opts.reporter,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
    const only = pulled.files.length === 1 ? pulled.files[0] : undefined;
    const prefix =
      pulled.name !== undefined && /^[^/\\.][^/\\]*$/.test(pulled.name) ? join(dir, pulled.name) : undefined;
    return await boot(prefix ?? only ?? join(dir, 'moby'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
