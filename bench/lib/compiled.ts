/**
 * The CLI as the published package runs it: scripts/build-dist.ts (the package's prepack step) into a private
 * directory laid out like the package (bin/, dist/, schema/, kernel-configs/, package.json), so start-up can be
 * measured as users meet it, and without writing dist/ into the shared checkout (bin/mobyts.js prefers dist/
 * when it exists). The bundle needs no node_modules.
 */
import { access, cp } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO, timeCommand } from './measure.ts';

/** Builds into `dir`; returns the path of its `bin/mobyts.js`. Rejects when the build fails. */
export async function prepareCompiled(dir: string): Promise<string> {
  await timeCommand(process.execPath, [join(REPO, 'scripts/build-dist.ts'), '--outdir', join(dir, 'dist')]);
  for (const p of ['bin', 'schema', 'kernel-configs', 'package.json'])
    await cp(join(REPO, p), join(dir, p), { recursive: true });
  await access(join(dir, 'dist/cli/main.js'));
  return join(dir, 'bin/mobyts.js');
}
