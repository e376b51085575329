/**
 * The CLI as the published package runs it: `tsc -p tsconfig.build.json` into a private directory laid out
 * like the package (bin/, dist/, schema/, kernel-configs/, package.json, node_modules → the checkout's), so
 * start-up can be measured without Node's type stripping, and without writing dist/ into the shared checkout
 * (bin/mobyts.js prefers dist/ when it exists).
 */
import { access, cp, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO, timeCommand } from './measure.ts';

/** Compiles into `dir`; returns the path of its `bin/mobyts.js`. Rejects when tsc cannot emit. */
export async function prepareCompiled(dir: string): Promise<string> {
  const tsc = join(REPO, 'node_modules/typescript/bin/tsc');
  // tsc exits non-zero on type errors elsewhere in the tree yet still emits; the check below is what matters.
  await timeCommand(process.execPath, [tsc, '-p', join(REPO, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')]).catch(() => undefined);
  for (const p of ['bin', 'schema', 'kernel-configs', 'package.json']) await cp(join(REPO, p), join(dir, p), { recursive: true });
  await symlink(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  await access(join(dir, 'dist/cli/main.js')); // rejects when tsc emitted nothing
  return join(dir, 'bin/mobyts.js');
}
