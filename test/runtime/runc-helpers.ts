/**
 * Running generated bundles with the host's runc (root, runc, busybox-static). `skipReason` says why a host
 * cannot, checked with runc's own default config so a test failure always means mobyts' config is at fault.
 */
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';

export const run = promisify(execFile);
const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'echo', 'id', 'cat', 'grep', 'true', 'touch', 'ls'];

/** A temp dir removed after the test. */
export function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A busybox filesystem at `dir` (created): /bin/busybox, applet links, empty mount points. */
export function busyboxTree(dir: string): void {
  for (const d of ['bin', 'dev', 'proc', 'sys', 'tmp', 'work']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(BUSYBOX, join(dir, 'bin/busybox'));
  for (const a of APPLETS) symlinkSync('busybox', join(dir, 'bin', a));
}

/** A unique container id for this process. */
export function containerId(): string {
  return `mobyts-test-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
}

/** A runc state dir for the test; any container left in it is force-deleted afterwards. */
export function runcRoot(t: TestContext, ids: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'mobyts-runc-state-'));
  t.after(async () => {
    for (const id of ids) await run('runc', ['--root', root, 'delete', '--force', id]).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });
  return root;
}

/** `runc --root TMP run --bundle DIR id`; returns stdout. */
export async function runcRun(t: TestContext, bundle: string): Promise<string> {
  const id = containerId();
  const root = runcRoot(t, [id]);
  const { stdout } = await run('runc', ['--root', root, 'run', '--bundle', bundle, id], { timeout: 30_000 });
  return stdout;
}

async function hasRunc(): Promise<boolean> {
  return run('sh', ['-c', 'command -v runc']).then(
    ({ stdout }) => stdout.trim() !== '',
    () => false,
  );
}

/** runc's own default config (`runc spec`), made non-interactive, on a busybox tree. */
async function probeRunc(t: TestContext): Promise<string | undefined> {
  const dir = tempDir(t, 'mobyts-runc-probe-');
  busyboxTree(join(dir, 'rootfs'));
  try {
    await run('runc', ['spec', '--bundle', dir]);
    const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {
      process: { terminal: boolean; args: string[] };
    };
    spec.process.terminal = false;
    spec.process.args = ['/bin/true'];
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
    await runcRun(t, dir);
    return undefined;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const detail = (e.stderr || e.message).trim().split('\n').slice(-3).join(' | ');
    return `runc cannot run containers on this host (its own default config fails): ${detail}`;
  }
}

/** Why this host cannot run runc tests, or undefined when it can. */
export async function skipReason(t: TestContext): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'runc needs root here (no rootless setup)';
  if (!(await hasRunc())) return 'runc is not installed (apt-get install runc)';
  if (!existsSync(BUSYBOX)) return `${BUSYBOX} is missing (apt-get install busybox-static)`;
  return probeRunc(t);
}
