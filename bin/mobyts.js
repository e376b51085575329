#!/usr/bin/env node
// Entry point only: the published package runs the compiled CLI (dist/), a git checkout runs the sources.
// Plain JavaScript any Node can parse, so an old Node gets one line instead of a syntax error or a stack trace.
import { existsSync } from 'node:fs';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(`mobyts needs Node.js 22.19 or newer; this is ${process.version}\n`);
  process.exit(1);
}
const compiled = new URL('../dist/cli/main.js', import.meta.url);
await import(existsSync(compiled) ? compiled.href : new URL('../src/cli/main.ts', import.meta.url).href);
