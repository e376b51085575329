/**
 * Kernel `.config` text: parsing it into option → value, and loading the fragments in `kernel-configs/` that say
 * what each feature needs (`CONFIG_X=y`: must be built in; `CONFIG_X=m`: built in or a module).
 */
import { existsSync, readFileSync } from 'node:fs';

/** Option name (with CONFIG_) → value (`y`, `m`, a number or a quoted string); `# CONFIG_X is not set` → `n`. */
export type KernelConfig = ReadonlyMap<string, string>;

export function parseConfig(text: string): KernelConfig {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const set = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
    if (set !== null) out.set(set[1]!, set[2]!);
    const unset = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line.trim());
    if (unset !== null) out.set(unset[1]!, 'n');
  }
  return out;
}

export interface Requirement {
  option: string;
  /** `y`: must be built in; `m`: built in or module. */
  need: 'y' | 'm';
  /** The module that provides the option when it is `m` (`CONFIG_SQUASHFS=y # module squashfs`). */
  module?: string;
}

/** The requirements of one fragment file's text: `CONFIG_X=y|m`, optionally followed by `# module NAME` or another comment. */
export function parseFragment(text: string): Requirement[] {
  const out: Requirement[] = [];
  for (const line of text.split('\n')) {
    const m = /^(CONFIG_[A-Za-z0-9_]+)=([ym])\s*(#.*)?$/.exec(line.trim());
    if (m === null) continue;
    const module = /^#\s*module\s+([A-Za-z0-9_-]+)\s*$/.exec(m[3] ?? '')?.[1];
    out.push({ option: m[1]!, need: m[2] as 'y' | 'm', ...(module === undefined ? {} : { module }) });
  }
  return out;
}

/**
 * The fragment `kernel-configs/<name>.config` shipped with mobyts, preceded by `<name>-<arch>.config` when `arch`
 * (default amd64) has one (the serial console and CD controller differ between a PC and arm64's virt machine;
 * the arch's part comes first, so a driver stack reads from the controller up). Throws when the common
 * fragment does not exist (a bug).
 */
export function loadFragment(name: string, arch?: string): Requirement[] {
  const common = parseFragment(readFileSync(new URL(`../../kernel-configs/${name}.config`, import.meta.url), 'utf8'));
  const archUrl = new URL(`../../kernel-configs/${name}-${arch ?? 'amd64'}.config`, import.meta.url);
  return existsSync(archUrl) ? [...parseFragment(readFileSync(archUrl, 'utf8')), ...common] : common;
}

/** The requirements `config` does not meet, rendered `CONFIG_X=y (is m)` / `CONFIG_X=y (not set)`. */
export function unmet(config: KernelConfig, reqs: readonly Requirement[]): string[] {
  const out: string[] = [];
  for (const r of reqs) {
    const have = config.get(r.option);
    const ok = have === 'y' || (r.need === 'm' && have === 'm');
    if (!ok) out.push(`${r.option}=${r.need}${have === undefined || have === 'n' ? ' (not set)' : ` (is ${have})`}`);
  }
  return out;
}
