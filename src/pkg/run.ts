/** `mobyts pkg build`: builds each package directory in order, then pushes it when asked. */
import type { CliContext } from '../cli/context.ts';
import { openStore } from '../store/index.ts';
import { buildPackage } from './build.ts';
import { sourceDateEpoch } from './layer.ts';
import { pushPackage } from './push.ts';

export interface PkgBuildFlags {
  cache: string | undefined;
  arch: string;
  force: boolean;
  push: boolean;
  insecureRegistries: string[];
  certFile: string | undefined;
}

export async function runPkgBuild(dirs: string[], f: PkgBuildFlags, ctx: CliContext): Promise<void> {
  const store = await openStore(f.cache ?? process.env.LINUXKIT_CACHE);
  for (const dir of dirs) {
    const built = await buildPackage(dir, {
      store, arch: f.arch, force: f.force, sourceDateEpoch: sourceDateEpoch(), reporter: ctx.reporter, signal: ctx.signal,
    });
    ctx.stdout.write(`${built.ref} ${built.digest}\n`);
    if (f.push) {
      const registry = { mirrors: [], insecureRegistries: f.insecureRegistries, ...(f.certFile === undefined ? {} : { caFile: f.certFile }) };
      const digest = await pushPackage(store, built.ref, { registry, signal: ctx.signal, reporter: ctx.reporter });
      ctx.reporter.emit({ type: 'info', message: `Pushed ${built.expanded} (${digest})` });
    }
  }
}
