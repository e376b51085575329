import { readFileSync } from 'node:fs';

/** The package version, read once from package.json beside the sources or dist/. */
export function packageVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg ? String(pkg.version) : 'unknown';
}

export function versionLine(): string {
  return `mobyts ${packageVersion()}, node ${process.version}, ${process.platform}/${process.arch}`;
}
