/**
 * Trust on first use, kept on disk like Docker's `~/.docker/trust`: per GUN, the root.json first accepted
 * and the highest version seen of each role (for rollback checks), under
 * `<trustDir>/tuf/<GUN>/metadata/{root.json,versions.json}`. Default trust dir: `$MOBYTS_TRUST_DIR`, else
 * `~/.mobyts/trust`. Writes are temp file → rename, so a crash never leaves half a pin.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { errnoDetail, MobyError } from '../util/errors.ts';

export function defaultTrustDir(): string {
  const env = process.env['MOBYTS_TRUST_DIR'];
  return env !== undefined && env !== '' ? env : path.join(homedir(), '.mobyts', 'trust');
}

export interface PinnedState {
  /** The pinned root.json bytes, undefined before first use. */
  root: Uint8Array | undefined;
  /** Highest version seen per role name. */
  versions: Record<string, number>;
}

function gunDir(trustDir: string, gun: string): string {
  if (gun.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new MobyError(`Invalid trust collection name "${gun}"`, { code: 'TRUST' });
  }
  return path.join(trustDir, 'tuf', ...gun.split('/'), 'metadata');
}

async function readOptional(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new MobyError(`Cannot read trust data "${file}"${errnoDetail(err)}`, { code: 'IO', cause: err });
  }
}

async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/** What is pinned for `gun`; an empty state before first use. */
export async function readPinned(trustDir: string, gun: string): Promise<PinnedState> {
  const dir = gunDir(trustDir, gun);
  const root = await readOptional(path.join(dir, 'root.json'));
  const versionsBytes = await readOptional(path.join(dir, 'versions.json'));
  const versions =
    versionsBytes === undefined ? {} : (JSON.parse(versionsBytes.toString('utf8')) as Record<string, number>);
  return { root, versions };
}

/** Records the accepted root and versions (versions only ever grow). */
export async function writePinned(
  trustDir: string,
  gun: string,
  state: { root: Uint8Array; versions: Record<string, number> },
): Promise<void> {
  const dir = gunDir(trustDir, gun);
  const sorted = Object.fromEntries(Object.entries(state.versions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  await writeAtomic(path.join(dir, 'root.json'), state.root);
  await writeAtomic(path.join(dir, 'versions.json'), `${JSON.stringify(sorted, null, 2)}\n`);
}

/** Forgets everything pinned for `gun`; returns whether there was anything. */
export async function resetPinned(trustDir: string, gun: string): Promise<boolean> {
  const dir = gunDir(trustDir, gun);
  const existed = (await readOptional(path.join(dir, 'root.json'))) !== undefined;
  await rm(dir, { recursive: true, force: true });
  return existed;
}
