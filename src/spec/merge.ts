/**
 * Several spec files → one, as `linuxkit build a.yml b.yml` folds them (docs/linuxkit-behaviour.md#multiple-files):
 * kernel image, cmdline and binary are replaced when non-empty in a later file, tar and ucode when set; the lists are
 * concatenated in order. mobyts also concatenates `trust` lists and `outputs` (dropping repeated formats).
 */
import type { KernelSpec, MobySpec, OutputSpec, TrustSpec } from './types.ts';

const LIST_SECTIONS = ['init', 'volumes', 'onboot', 'onshutdown', 'services', 'files'] as const;

function mergeKernel(a: KernelSpec | undefined, b: KernelSpec | undefined): KernelSpec | undefined {
  if (b === undefined) return a;
  const out: KernelSpec = { ...(a ?? { image: '' }) };
  for (const key of ['image', 'cmdline', 'binary'] as const) {
    const v = b[key];
    if (v !== undefined && v !== '') out[key] = v;
  }
  for (const key of ['tar', 'ucode'] as const) {
    if (b[key] !== undefined) out[key] = b[key];
  }
  return out;
}

function mergeTrust(a: TrustSpec | undefined, b: TrustSpec | undefined): TrustSpec | undefined {
  if (b === undefined) return a;
  if (a === undefined) return { ...b };
  const out: TrustSpec = {};
  for (const key of ['image', 'org'] as const) {
    if (a[key] !== undefined || b[key] !== undefined) out[key] = [...(a[key] ?? []), ...(b[key] ?? [])];
  }
  return out;
}

function mergeOutputs(a: OutputSpec[] | undefined, b: OutputSpec[] | undefined): OutputSpec[] | undefined {
  if (b === undefined) return a;
  const seen = new Set((a ?? []).map((o) => o.format));
  return [...(a ?? []), ...b.filter((o) => !seen.has(o.format) && seen.add(o.format))];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The parts of `s` whose shape merging relies on. Specs with errors are merged too (validate reports every
 * file's problems, and the merged spec is only trusted without errors), so a section of the wrong type
 * (`init:` left empty, `kernel: 3`) is skipped here rather than crashing the merge.
 */
function mergeable(s: MobySpec): MobySpec {
  const out: Record<string, unknown> = {};
  const v = s as Record<string, unknown>;
  if (isObject(v.kernel)) out.kernel = v.kernel;
  for (const key of LIST_SECTIONS) if (Array.isArray(v[key])) out[key] = v[key];
  if (isObject(v.trust)) {
    const t = v.trust;
    out.trust = Object.fromEntries(
      (['image', 'org'] as const).filter((k) => Array.isArray(t[k])).map((k) => [k, t[k]]),
    );
  }
  if (Array.isArray(v.outputs)) out.outputs = v.outputs.filter(isObject);
  return out;
}

/** Folds `specs` left to right into a new spec; the inputs are not modified. */
export function mergeSpecs(specs: readonly MobySpec[]): MobySpec {
  let out: MobySpec = {};
  for (const spec of specs) {
    const s = mergeable(spec);
    const next: MobySpec = { ...out };
    const kernel = mergeKernel(out.kernel, s.kernel);
    if (kernel !== undefined) next.kernel = kernel;
    for (const key of LIST_SECTIONS) {
      const b = s[key];
      if (b !== undefined) (next as Record<string, unknown[]>)[key] = [...(out[key] ?? []), ...b];
    }
    const trust = mergeTrust(out.trust, s.trust);
    if (trust !== undefined) next.trust = trust;
    const outputs = mergeOutputs(out.outputs, s.outputs);
    if (outputs !== undefined) next.outputs = outputs;
    out = next;
  }
  return out;
}
