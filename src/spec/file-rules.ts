/** Single-file rules for `files` and `volumes` entries (docs/linuxkit-behaviour.md#files, #volumes). */
import type { SpecPath } from './issues.ts';
import type { Emit } from './source.ts';
import { schemaProperties } from './schema.ts';
import { isObj, strAt, stringItems, type Obj } from './values.ts';

export const VOLUME_NAME = /^[a-z0-9_-]*$/;
const OCTAL_MODE = /^[0-7]{1,4}$/;
const FILE_KEYS: ReadonlySet<string> = new Set(schemaProperties('file'));

function checkFileMode(emit: Emit, path: SpecPath, mode: unknown): void {
  if (typeof mode === 'string' && !OCTAL_MODE.test(mode)) {
    emit(path, `cannot parse file mode as octal value: "${mode}"`, { hint: 'e.g. mode: "0644"' });
  }
}

/** LinuxKit's file-entry rules (build.go: filesystem, docs/linuxkit-behaviour.md#files). */
export function checkFile(emit: Emit, f: Obj, path: SpecPath): void {
  const has = (k: string): boolean => f[k] !== undefined && f[k] !== '';
  if (strAt(f, 'path') === undefined || f['path'] === '')
    emit(path, 'did not specify path for file', { hint: 'add path: etc/example' });
  checkFileMode(emit, [...path, 'mode'], f['mode']);
  const isDir = f['directory'] === true;
  if (isDir && f['contents'] !== undefined)
    emit([...path, 'contents'], 'directory with contents not allowed', { at: 'key' });
  if (isDir && has('symlink'))
    emit([...path, 'symlink'], 'an entry cannot be both a directory and a symlink', { at: 'key' });
  const inline = isDir || has('symlink') || f['contents'] !== undefined;
  const kind = isDir ? 'directory' : has('symlink') ? 'symlink' : 'contents';
  if (inline) {
    for (const k of ['source', 'metadata']) {
      if (has(k)) emit([...path, k], `${k} cannot be combined with ${kind}`, { at: 'key' });
    }
    return;
  }
  const misspelt = Object.keys(f).some((k) => !FILE_KEYS.has(k)); // the schema reports the unknown key
  if (!has('source') && !has('metadata') && !misspelt) {
    emit(path, `contents of file "${strAt(f, 'path') ?? ''}" not specified`, {
      hint: 'give one of contents, source, metadata, symlink or directory: true',
    });
  }
  if (has('source') && has('metadata'))
    emit([...path, 'metadata'], 'metadata cannot be combined with source', { at: 'key' });
  if (f['optional'] === true && !has('source'))
    emit([...path, 'optional'], 'optional only applies to entries with a source', { at: 'key', severity: 'warning' });
}

const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

export function checkVolume(emit: Emit, v: unknown, path: SpecPath): void {
  const name = strAt(v, 'name');
  if (name !== undefined && !VOLUME_NAME.test(name))
    emit([...path, 'name'], `invalid volume name "${name}": use only a-z, 0-9, _ and -`);
  for (const [p, i] of stringItems(v, 'platforms')) {
    if (!PLATFORM.test(p))
      emit([...path, 'platforms', i], `invalid platform "${p}": expected os/arch[/variant]`, {
        hint: 'e.g. linux/amd64 or linux/arm64/v8',
      });
  }
  if (isObj(v) && v['platforms'] !== undefined && v['format'] !== 'oci') {
    emit([...path, 'platforms'], 'platforms only applies to volumes with format: oci', {
      at: 'key',
      severity: 'warning',
    });
  }
}
