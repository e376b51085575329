/**
 * A package directory's `build.yml`: LinuxKit's fields where they apply (`image`, `org`, `config`, `arches`,
 * docs/linuxkit-behaviour.md#pkg-run) plus what a build without Docker needs: `base` (another package directory),
 * `contents` (a directory copied to `/`), `imageConfig` (Entrypoint/Cmd/Env/WorkingDir/Labels), `prepare` (a host shell
 * step that stages files) and `fingerprint` (a cheap host command whose output joins the tag's inputs).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { MobyError } from '../util/errors.ts';

export interface PackageImageConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  Labels?: Record<string, string>;
}

export interface PackageSpec {
  image: string;
  /** Default `linuxkit`, as LinuxKit. */
  org: string;
  /** LinuxKit's per-image container defaults, serialised into the `org.mobyproject.config` label. */
  config?: Record<string, unknown>;
  /** Default: [amd64]. */
  arches: string[];
  /** Package directory (relative to this one) whose image is the base. */
  base?: string;
  /** Directory (relative to this one) copied to `/`. */
  contents?: string;
  imageConfig: PackageImageConfig;
  /** Shell command run with `sh -c` in the package directory; STAGE names the directory it fills. */
  prepare?: string;
  fingerprint?: string;
}

const KEYS = [
  'image',
  'org',
  'config',
  'arches',
  'base',
  'contents',
  'imageConfig',
  'prepare',
  'fingerprint',
  'tag',
  'network',
  'buildArgs',
  'dockerfile',
  'disable-cache',
  'extra-sources',
];
const IMAGE_CONFIG_KEYS = ['Entrypoint', 'Cmd', 'Env', 'WorkingDir', 'Labels'];

function bad(dir: string, why: string, cause?: unknown): MobyError {
  return new MobyError(`Invalid package "${dir}": build.yml ${why}`, {
    code: 'SPEC_INVALID',
    ...(cause === undefined ? {} : { cause }),
  });
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

function optString(dir: string, o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw bad(dir, `field "${key}" must be a non-empty string`);
  return v;
}

function imageConfigOf(dir: string, v: unknown): PackageImageConfig {
  if (v === undefined) return {};
  if (!isObj(v)) throw bad(dir, 'field "imageConfig" must be a mapping');
  const unknown = Object.keys(v).find((k) => !IMAGE_CONFIG_KEYS.includes(k));
  if (unknown !== undefined)
    throw bad(dir, `field "imageConfig.${unknown}" is not supported (use ${IMAGE_CONFIG_KEYS.join(', ')})`);
  for (const k of ['Entrypoint', 'Cmd', 'Env']) {
    if (v[k] !== undefined && !isStrings(v[k])) throw bad(dir, `field "imageConfig.${k}" must be a list of strings`);
  }
  if (v.WorkingDir !== undefined && typeof v.WorkingDir !== 'string')
    throw bad(dir, 'field "imageConfig.WorkingDir" must be a string');
  if (v.Labels !== undefined && !(isObj(v.Labels) && Object.values(v.Labels).every((s) => typeof s === 'string'))) {
    throw bad(dir, 'field "imageConfig.Labels" must map strings to strings');
  }
  return v;
}

/** Validates parsed build.yml content. Pure; throws SPEC_INVALID naming the package and the field. */
export function parsePackageSpec(dir: string, doc: unknown): PackageSpec {
  if (!isObj(doc)) throw bad(dir, 'must be a mapping');
  const unknown = Object.keys(doc).find((k) => !KEYS.includes(k));
  if (unknown !== undefined) throw bad(dir, `has unknown field "${unknown}"`);
  const image = optString(dir, doc, 'image');
  if (image === undefined) throw bad(dir, 'has no "image" field');
  if (doc.tag !== undefined)
    throw bad(dir, 'field "tag" is not supported: mobyts tags packages by the hash of their inputs');
  if (doc.config !== undefined && !isObj(doc.config)) throw bad(dir, 'field "config" must be a mapping');
  if (doc.arches !== undefined && !isStrings(doc.arches)) throw bad(dir, 'field "arches" must be a list of strings');
  const spec: PackageSpec = {
    image,
    org: optString(dir, doc, 'org') ?? 'linuxkit',
    arches: doc.arches ?? ['amd64'],
    imageConfig: imageConfigOf(dir, doc.imageConfig),
  };
  if (doc.config !== undefined) spec.config = doc.config;
  for (const k of ['base', 'contents', 'prepare', 'fingerprint'] as const) {
    const v = optString(dir, doc, k);
    if (v !== undefined) spec[k] = v;
  }
  return spec;
}

/** Reads and validates `<dir>/build.yml`; NOT_FOUND when the directory is not a package. */
export async function readPackageSpec(dir: string): Promise<PackageSpec> {
  let text: string;
  try {
    text = await readFile(join(dir, 'build.yml'), 'utf8');
  } catch (err) {
    throw new MobyError(`Cannot read package "${dir}": no build.yml there`, {
      code: 'NOT_FOUND',
      cause: err,
      hint: 'a package is a directory with a build.yml',
    });
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw bad(dir, 'is not valid YAML', err);
  }
  return parsePackageSpec(dir, doc);
}
