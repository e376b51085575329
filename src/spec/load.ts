/**
 * Reading spec inputs (paths, `-` for stdin, http(s) URLs) and turning them into one checked, merged spec
 * (docs/linuxkit-behaviour.md#multiple-files). This is the IO shell around `parseUnit`/`crossIssues`/`mergeSpecs`;
 * problems in the specs are returned as issues, while an input that cannot be read at all is a thrown MobyError.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { fetchText } from '../registry/fetch-text.ts';
import { errnoText, MobyError } from '../util/errors.ts';
import { crossIssues, type SpecUnit } from './cross-rules.ts';
import type { Issue, SpecPath } from './issues.ts';
import { mergeSpecs } from './merge.ts';
import { parseUnit } from './parse.ts';
import { checkImageRef, TEMPLATE_PREFIX } from './rules.ts';
import type { MobySpec } from './types.ts';
import { isObj } from './values.ts';

/** Resolves an `@pkg:PATH` value relative to the spec's directory; undefined when it cannot. */
export type TemplateResolver = (value: string, baseDir: string) => Promise<string | undefined>;

export interface LoadOptions {
  /**
   * The `@pkg:` hook (docs/linuxkit-behaviour.md#templates), called once per distinct value and directory; without it
   * templates stay literal. Not used for stdin or URLs (as LinuxKit). A rejection propagates out of `loadSpecs`.
   */
  resolveTemplate?: TemplateResolver;
  /** What `-` reads; default `process.stdin`. */
  stdin?: AsyncIterable<Buffer | string>;
  /** Cancels URL fetches (which also time out after a minute). */
  signal?: AbortSignal;
}

export interface LoadedSource {
  /** The argument as given. */
  input: string;
  /** The name issues use: the path, `<stdin>`, or the URL. */
  file: string;
  text: string;
  /** Directory templates resolve against; undefined for stdin and URLs. */
  baseDir: string | undefined;
}

export interface LoadedSpecs {
  /** The merged spec (not normalised); trustworthy only when `issues` has no errors. */
  spec: MobySpec;
  issues: Issue[];
  /** Default output name: the last input's basename without extension, `moby` for stdin. */
  name: string;
  sources: LoadedSource[];
}

const isUrl = (s: string): boolean => /^https?:\/\//i.test(s);

function readError(input: string, err: unknown): MobyError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EISDIR'
        ? 'it is a directory'
        : code === 'EACCES'
          ? 'permission denied'
          : (errnoText(err) ?? 'cannot read it');
  return new MobyError(`Cannot read spec "${input}": ${why}`, { code: 'IO', cause: err });
}

async function readStdin(stdin: AsyncIterable<Buffer | string>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads one input; throws a MobyError (code IO) naming it when it cannot be read. */
export async function readInput(input: string, opts: LoadOptions = {}): Promise<LoadedSource> {
  if (input === '-')
    return { input, file: '<stdin>', text: await readStdin(opts.stdin ?? process.stdin), baseDir: undefined };
  if (isUrl(input))
    return {
      input,
      file: input,
      text: await fetchText(input, { what: 'spec', ...(opts.signal === undefined ? {} : { signal: opts.signal }) }),
      baseDir: undefined,
    };
  try {
    return { input, file: input, text: await readFile(input, 'utf8'), baseDir: dirname(resolve(input)) };
  } catch (err) {
    throw readError(input, err);
  }
}

/** LinuxKit's default output name for an input list. */
export function defaultName(inputs: readonly string[]): string {
  const last = inputs[inputs.length - 1];
  if (last === undefined || last === '-') return 'moby';
  const base = basename(isUrl(last) ? new URL(last).pathname : last);
  return base.slice(0, base.length - extname(base).length) || 'moby';
}

async function resolveTemplates(
  value: unknown,
  baseDir: string,
  resolver: TemplateResolver,
  found: (path: SpecPath, from: string, to: string | undefined) => void,
  path: SpecPath = [],
): Promise<unknown> {
  if (typeof value === 'string' && value.startsWith(TEMPLATE_PREFIX)) {
    const to = await resolver(value, baseDir);
    found(path, value, to);
    return to ?? value;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const [i, v] of value.entries()) out.push(await resolveTemplates(v, baseDir, resolver, found, [...path, i]));
    return out;
  }
  if (isObj(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = await resolveTemplates(v, baseDir, resolver, found, [...path, k]);
    return out;
  }
  return value;
}

/** The same template in the same directory resolves once (a spec often uses one package several times). */
function memoise(resolver: TemplateResolver): TemplateResolver {
  const done = new Map<string, Promise<string | undefined>>();
  return (value, baseDir) => {
    const key = `${baseDir}\0${value}`;
    let p = done.get(key);
    if (p === undefined) {
      p = resolver(value, baseDir);
      done.set(key, p);
    }
    return p;
  };
}

async function applyTemplates(
  unit: SpecUnit,
  source: LoadedSource,
  resolver: TemplateResolver | undefined,
  issues: Issue[],
): Promise<SpecUnit> {
  if (resolver === undefined || source.baseDir === undefined) return unit;
  const emit = (path: SpecPath, message: string, o?: { hint?: string }): void =>
    void issues.push(unit.src.issue(path, message, o));
  const value = await resolveTemplates(unit.value, source.baseDir, resolver, (path, from, to) => {
    if (to === undefined)
      emit(path, `cannot resolve template "${from}"`, {
        hint: 'the path must be a package directory (with build.yml) relative to the spec',
      });
    else if (path[path.length - 1] === 'image' || path[0] === 'init') checkImageRef(emit, path, to);
  });
  return { src: unit.src, value };
}

/**
 * Reads, checks and merges `inputs` in order. Every problem in any file is in `issues` (all files are read
 * and checked even when an early one is bad); only an unreadable input throws.
 */
export async function loadSpecs(inputs: readonly string[], opts: LoadOptions = {}): Promise<LoadedSpecs> {
  const sources: LoadedSource[] = [];
  for (const input of inputs) sources.push(await readInput(input, opts));
  const issues: Issue[] = [];
  const units: SpecUnit[] = [];
  const resolver = opts.resolveTemplate === undefined ? undefined : memoise(opts.resolveTemplate);
  for (const source of sources) {
    const parsed = parseUnit(source.text, source.file);
    issues.push(...parsed.issues);
    units.push(await applyTemplates(parsed.unit, source, resolver, issues));
  }
  issues.push(...crossIssues(units));
  const spec = mergeSpecs(units.map((u) => (isObj(u.value) ? u.value : {}) as MobySpec));
  return { spec, issues, name: defaultName(inputs), sources };
}
