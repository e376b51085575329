/**
 * Checks that need only one file (docs/linuxkit-behaviour.md#image-entry to #devices, #mounts to #rlimits): image
 * references, capabilities, rlimits, devices, mounts, binds/tmpfs syntax; file and volume entries are in
 * `file-rules.ts`. Cross-entry checks (names, volumes, ids) live in `cross-rules.ts` because they run on the merged
 * files.
 */
import { InvalidReferenceError, parseReference } from '../oci/reference.ts';
import { isCapabilityKeyword, isKnownCapability, KNOWN_CAPABILITIES } from './capabilities.ts';
import type { Issue, SpecPath } from './issues.ts';
import type { Emit, SpecSource } from './source.ts';
import { didYouMean } from './suggest.ts';
import { CONTAINER_SECTIONS } from './types.ts';
import { checkFile, checkVolume } from './file-rules.ts';
import { isObj, listAt, objAt, strAt, stringItems, type Obj } from './values.ts';

export type { Emit } from './source.ts';

export const TEMPLATE_PREFIX = '@pkg:';
const RLIMITS = [
  'CPU',
  'FSIZE',
  'DATA',
  'STACK',
  'CORE',
  'RSS',
  'NPROC',
  'NOFILE',
  'MEMLOCK',
  'AS',
  'LOCKS',
  'SIGPENDING',
  'MSGQUEUE',
  'NICE',
  'RTPRIO',
  'RTTIME',
];
const OCTAL_MODE = /^[0-7]{1,4}$/;

/** An image reference problem, or undefined. `@pkg:` templates are left for the template resolver. */
export function checkImageRef(emit: Emit, path: SpecPath, ref: string): void {
  if (ref.startsWith(TEMPLATE_PREFIX)) return;
  if (ref === '') {
    emit(path, 'image reference is empty', { hint: 'name an image, e.g. "linuxkit/init:<tag>"' });
    return;
  }
  try {
    parseReference(ref);
  } catch (err) {
    if (!(err instanceof InvalidReferenceError)) throw err;
    emit(path, `invalid image reference "${ref}": ${err.reason}`, err.hint === undefined ? {} : { hint: err.hint });
  }
}

function checkCapabilities(emit: Emit, entry: Obj, base: SpecPath, key: string): void {
  const items = stringItems(entry, key);
  for (const [cap, i] of items) {
    if (isCapabilityKeyword(cap)) {
      if (items.length > 1) emit([...base, key, i], `"${cap}" must be the only item of ${key}`);
      continue;
    }
    if (isKnownCapability(cap)) continue;
    const prefixed = `CAP_${cap.toUpperCase()}`;
    const hint = isKnownCapability(cap.toUpperCase())
      ? cap.toUpperCase()
      : isKnownCapability(prefixed)
        ? prefixed
        : undefined;
    const suggestion = hint === undefined ? didYouMean(cap, KNOWN_CAPABILITIES) : ` (did you mean "${hint}"?)`;
    emit([...base, key, i], `unknown capability "${cap}"${suggestion}`);
  }
}

function checkRlimit(emit: Emit, path: SpecPath, text: string): void {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length !== 3) {
    emit(path, `cannot parse rlimit "${text}": expected name,soft,hard`, {
      hint: 'e.g. "nofile,1024,4096" or "core,unlimited,unlimited"',
    });
    return;
  }
  const [name = '', soft = '', hard = ''] = parts;
  const bare = name.toUpperCase().replace(/^RLIMIT_/, '');
  if (!RLIMITS.includes(bare)) {
    emit(path, `unknown rlimit "${name}"${didYouMean(bare, RLIMITS).toLowerCase()}`, {
      hint: `one of ${RLIMITS.map((r) => r.toLowerCase()).join(', ')}`,
    });
  }
  for (const v of [soft, hard]) {
    if (v.toLowerCase() !== 'unlimited' && !/^[0-9]+$/.test(v))
      emit(path, `cannot parse rlimit "${text}": "${v}" is not a number or "unlimited"`);
  }
}

function checkDevice(emit: Emit, dev: Obj, path: SpecPath): void {
  const devPath = strAt(dev, 'path');
  if (devPath === undefined || devPath === '') emit(path, 'device needs a path (a device node, or "all")');
  const type = strAt(dev, 'type');
  if (type === undefined) emit(path, 'device needs a type (b, c, u or p; a with path "all")');
  else if (!DEVICE_TYPES.includes(type))
    emit([...path, 'type'], `unknown device type "${type}": use b, c, u or p (a with path "all")`);
  if (devPath === 'all') return;
  const mode = dev['mode'];
  if (typeof mode === 'number') return; // reported by the schema with the quoting hint
  if (mode === undefined || (typeof mode === 'string' && !OCTAL_MODE.test(mode))) {
    const what = mode === undefined ? 'no mode' : `"${mode}"`;
    emit(mode === undefined ? path : [...path, 'mode'], `cannot parse device mode as octal value: ${what}`, {
      hint: 'give an octal string, e.g. mode: "0666"',
    });
  }
}

function checkBindSyntax(emit: Emit, entry: Obj, base: SpecPath, key: string): void {
  for (const [bind, i] of stringItems(entry, key)) {
    const parts = bind.split(':');
    if (parts.length < 2 || parts.length > 3 || parts[0] === '' || parts[1] === '') {
      emit([...base, key, i], `invalid bind "${bind}": expected source:destination[:options]`, {
        hint: 'e.g. "/var:/var" or "/etc/resolv.conf:/etc/resolv.conf:ro"',
      });
    }
  }
}

const DEVICE_TYPES = ['b', 'c', 'u', 'p', 'a'];
const MOUNT_TYPE_FROM_SOURCE = ['mqueue', 'devpts', 'proc', 'sysfs', 'cgroup'];
const MOUNT_DESTINATIONS: Record<string, string> = {
  proc: '/proc',
  devpts: '/dev/pts',
  sysfs: '/sys',
  cgroup: '/sys/fs/cgroup',
  mqueue: '/dev/mqueue',
};
/** containerd's identifier grammar (services become containerd tasks by name). */
const CONTAINERD_ID = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;

/**
 * LinuxKit's mount defaults (docs/linuxkit-behaviour.md#mounts): a mount whose type or destination cannot be inferred
 * fails the build.
 */
function checkMount(emit: Emit, m: Obj, path: SpecPath): void {
  const source = strAt(m, 'source');
  let type = strAt(m, 'type');
  const dest = strAt(m, 'destination');
  if (type === undefined) {
    if (source !== undefined && MOUNT_TYPE_FROM_SOURCE.includes(source)) type = source;
    else if (dest === '/dev') type = 'tmpfs';
    else
      emit(path, `mount for destination ${dest ?? '(none)'} is missing type`, {
        hint: 'add type: bind (or tmpfs, proc, …)',
      });
  }
  if (dest === undefined && type !== undefined && MOUNT_DESTINATIONS[type] === undefined) {
    emit(path, `mount of type ${type} is missing destination`, { hint: 'add destination: /path/in/container' });
  }
}

function checkEntryBasics(emit: Emit, entry: Obj, base: SpecPath): void {
  const cwd = strAt(entry, 'cwd');
  if (cwd !== undefined && cwd !== '' && !cwd.startsWith('/'))
    emit([...base, 'cwd'], `cwd "${cwd}" must be an absolute path`, { hint: `write cwd: /${cwd}` });
  listAt(entry, 'mounts').forEach((m, i) => {
    if (isObj(m)) checkMount(emit, m, [...base, 'mounts', i]);
  });
}

function checkName(emit: Emit, entry: unknown, path: SpecPath, section: string): void {
  const name = strAt(entry, 'name');
  if (name === undefined) return;
  if (name === '' || name.includes('/') || name === '.' || name === '..') {
    emit([...path, 'name'], `invalid container name "${name}": it names a directory under /containers/${section}`, {
      hint: 'use letters, digits, ., _ and -',
    });
  } else if (section === 'services' && !CONTAINERD_ID.test(name)) {
    emit([...path, 'name'], `service name "${name}" is not a valid containerd id; the service will not start`, {
      severity: 'warning',
      hint: 'use letters and digits, separated by single ., _ or -',
    });
  }
}

function checkTmpfs(emit: Emit, entry: Obj, base: SpecPath): void {
  for (const [t, i] of stringItems(entry, 'tmpfs')) {
    if (t.split(':').length > 2 || t === '')
      emit([...base, 'tmpfs', i], `invalid tmpfs "${t}": expected destination[:options]`);
  }
}

/** The checks an image entry and an `org.mobyproject.config` label share. */
export function checkImageConfig(emit: Emit, entry: unknown, base: SpecPath): void {
  if (!isObj(entry)) return;
  for (const key of ['capabilities', 'capabilities.add', 'ambient']) checkCapabilities(emit, entry, base, key);
  for (const [r, i] of stringItems(entry, 'rlimits')) checkRlimit(emit, [...base, 'rlimits', i], r);
  listAt(entry, 'devices').forEach((d, i) => {
    if (isObj(d)) checkDevice(emit, d, [...base, 'devices', i]);
  });
  for (const key of ['binds', 'binds.add']) checkBindSyntax(emit, entry, base, key);
  checkTmpfs(emit, entry, base);
  checkEntryBasics(emit, entry, base);
  for (const [key, base2] of [
    ['capabilities.add', 'capabilities'],
    ['binds.add', 'binds'],
  ] as const) {
    if (entry[key] !== undefined && entry[base2] !== undefined) {
      emit([...base, key], `${key} is ignored because ${base2} is also set`, {
        severity: 'warning',
        at: 'key',
        hint: `merge the lists into ${base2}`,
      });
    }
  }
}

function checkImages(emit: Emit, spec: Obj): void {
  const kernel = objAt(spec, 'kernel');
  const kImage = strAt(kernel, 'image');
  if (kImage !== undefined) checkImageRef(emit, ['kernel', 'image'], kImage);
  for (const [ref, i] of stringItems(spec, 'init')) checkImageRef(emit, ['init', i], ref);
  for (const section of CONTAINER_SECTIONS) {
    listAt(spec, section).forEach((e, i) => {
      const ref = strAt(e, 'image');
      if (ref !== undefined) checkImageRef(emit, [section, i, 'image'], ref);
    });
  }
  listAt(spec, 'volumes').forEach((v, i) => {
    const ref = strAt(v, 'image');
    if (ref !== undefined) checkImageRef(emit, ['volumes', i, 'image'], ref);
  });
  const trust = objAt(spec, 'trust');
  for (const [ref, i] of stringItems(trust, 'image')) checkImageRef(emit, ['trust', 'image', i], ref);
  for (const [org, i] of stringItems(trust, 'org')) {
    if (!ORG.test(org))
      emit(
        ['trust', 'org', i],
        `invalid organisation "${org}": expected a Docker Hub namespace such as linuxkit or library`,
      );
  }
}

/** A repository path component (distribution reference grammar): a Docker Hub organisation. */
const ORG = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** Every single-file rule; `spec` is the file's plain value. */
export function localIssues(src: SpecSource, spec: unknown): Issue[] {
  const issues: Issue[] = [];
  const emit: Emit = (path, message, opts) => void issues.push(src.issue(path, message, opts));
  if (!isObj(spec)) return issues;
  checkImages(emit, spec);
  for (const section of CONTAINER_SECTIONS) {
    listAt(spec, section).forEach((e, i) => {
      checkName(emit, e, [section, i], section);
      checkImageConfig(emit, e, [section, i]);
    });
  }
  listAt(spec, 'files').forEach((f, i) => {
    if (isObj(f)) checkFile(emit, f, ['files', i]);
  });
  listAt(spec, 'volumes').forEach((v, i) => checkVolume(emit, v, ['volumes', i]));
  return issues;
}
