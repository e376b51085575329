/**
 * Builds dist/ — the CLI as the npm package ships it — by bundling src/cli/main.ts and everything it
 * imports, its dependencies included, into ES modules (docs/architecture.md, "What the package runs").
 *
 * Why a bundle rather than tsc's one-file-per-module output: start-up. Node resolves, reads and compiles each
 * file of the module graph separately; `mobyts validate` loaded about 200 files (yaml alone is ~50), which cost
 * more than checking the spec. Code splitting keeps the CLI's lazy loading: each command, and heavy pieces
 * such as the registry client, become separate chunks loaded by the `import()` that asks for them.
 *
 * Every output file lands in dist/cli/, two levels below the package root, as the sources' modules are
 * below the repository's: the few `new URL('../../schema/…', import.meta.url)` reads resolve the same way.
 *
 * The bundled dependencies' licences are written to dist/THIRD-PARTY-NOTICES.txt.
 *
 * Usage: node scripts/build-dist.ts [--outdir DIR]   (default: dist next to this script's parent)
 */
import { build, type Plugin } from 'esbuild';
import { builtinModules } from 'node:module';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const REPO = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
const outdir = resolve(values.outdir ?? join(REPO, 'dist'));

/**
 * Node's own modules through require(), not `import`: importing one as an ES module builds a facade that reads
 * every export, which runs the lazy getters behind them (`node:process` loads the diagnostic report, `node:util`
 * its argument parser and differ, `node:fs` its streams): about 20 ms of `mobyts validate`. A CommonJS stub
 * per builtin lets esbuild read named imports as properties, on use.
 */
/**
 * Builtins a dependency loads at start-up but uses only on a path mobyts does not take: commander requires
 * child_process (which loads net, dgram and the stream classes, ~5 ms) for external subcommands. A dependency
 * (CommonJS, reading properties on use) gets a proxy that loads the module on first property read.
 */
const LAZY = new Set(['child_process']);

const builtinsByRequire: Plugin = {
  name: 'builtins-by-require',
  setup(b) {
    const names = new Set(builtinModules.map((m) => m.replace(/^node:/, '')));
    b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
      const name = args.path.replace(/^node:/, '');
      if (!names.has(name)) return undefined;
      // The stub's own require() is the real one (the banner's createRequire).
      if (args.namespace === 'builtin' || args.namespace === 'builtin-lazy')
        return { path: `node:${name}`, external: true };
      // `await import('node:fs')` stays Node's own: with code splitting, esbuild would make the stub a chunk
      // whose only export is `default`, so `const { createReadStream } = await import('node:fs')` got undefined.
      if (args.kind === 'dynamic-import') return { path: `node:${name}`, external: true };
      const lazy = LAZY.has(name) && args.importer.includes('/node_modules/');
      return { path: `node:${name}`, namespace: lazy ? 'builtin-lazy' : 'builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
    b.onLoad({ filter: /.*/, namespace: 'builtin-lazy' }, (args) => ({
      contents: `let m; module.exports = new Proxy({}, { get: (_, k) => (m ??= require(${JSON.stringify(args.path)}))[k] });`,
      loader: 'js',
    }));
  },
};

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: REPO,
  entryPoints: { main: 'src/cli/main.ts' },
  outdir: join(outdir, 'cli'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22.19',
  // CommonJS dependencies (yaml, undici, commander) call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __mobytsRequire } from 'node:module'; const require = __mobytsRequire(import.meta.url);",
  },
  legalComments: 'none',
  plugins: [builtinsByRequire],
  metafile: true,
  logLevel: 'warning',
});

/** The package directory (with package.json) an input under node_modules/ belongs to. */
function packageDir(input: string): string | undefined {
  const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  return m?.[1];
}

const notices: string[] = [];
for (const dir of [...new Set(Object.keys(result.metafile.inputs).map(packageDir))]
  .filter((d) => d !== undefined)
  .sort()) {
  const pkg = JSON.parse(readFileSync(join(REPO, dir, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    license?: string;
  };
  const licence = readdirSync(join(REPO, dir)).find((f) => /^licen[cs]e/i.test(f));
  if (licence === undefined) throw new Error(`${pkg.name} is bundled into dist/ but ships no licence file`);
  notices.push(
    `${pkg.name} ${pkg.version} (${pkg.license ?? 'see below'})\n\n${readFileSync(join(REPO, dir, licence), 'utf8').trim()}\n`,
  );
}
writeFileSync(
  join(outdir, 'THIRD-PARTY-NOTICES.txt'),
  `mobyts bundles the following packages into dist/.\n\n${notices.join('\n---\n\n')}`,
);
if (!existsSync(join(outdir, 'cli', 'main.js'))) throw new Error(`nothing written to ${dirname(outdir)}`);
