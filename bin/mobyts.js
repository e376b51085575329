#!/usr/bin/env node
// Entry point only: the published package runs the compiled CLI, a git checkout runs the sources.
import { existsSync } from 'node:fs';
const compiled = new URL('../dist/cli/main.js', import.meta.url);
await import(existsSync(compiled) ? compiled.href : new URL('../src/cli/main.ts', import.meta.url).href);
