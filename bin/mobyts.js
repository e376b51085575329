#!/usr/bin/env node
// Entry point only: the published package runs the bundled CLI (dist/), a git checkout runs the sources
// (docs/architecture.md, "What the package runs").
// Plain JavaScript any Node can parse, so an old Node gets one line instead of a syntax error or a stack trace.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(`mobyts needs Node.js 22.19 or newer; this is ${process.version}\n`);
  process.exit(1);
}
// Node's modules through getBuiltinModule, not `import`: an imported builtin gets an ES module facade that
// reads every export, which loads the lazy parts behind them (fs streams and promises, …) for nothing.
const { existsSync } = process.getBuiltinModule('node:fs');
const { join } = process.getBuiltinModule('node:path');
const compiled = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(compiled)) {
  // Compiled code of the chunks, kept across runs (Node checks each entry against the file it came from). A
  // cache directory that cannot be created only costs the compile; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
  const { MOBYTS_CACHE_HOME, XDG_CACHE_HOME } = process.env;
  const root =
    MOBYTS_CACHE_HOME ||
    join(XDG_CACHE_HOME || join(process.getBuiltinModule('node:os').homedir(), '.cache'), 'mobyts');
  process.getBuiltinModule('node:module').enableCompileCache?.(join(root, 'node-compile-cache'));
  await import(compiled.href);
} else {
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
