/**
 * The kernel check: before building, compare the kernel's config with what the chosen formats need
 * (kernel-configs/*.config) and report missing options by name — errors for what a format cannot boot without,
 * warnings for the rest. Pure apart from reading the kernel and the fragments.
 */
import { basename } from 'node:path';
import { embeddedConfig, readEmbeddedConfig } from './embedded-config.ts';
import { loadFragment, parseConfig, unmet, type KernelConfig, type Requirement } from './config-text.ts';
import { loadOrder, moduleName, type ModuleIndex } from './modules.ts';

export interface CheckKernelOptions {
  kernelPath: string;
  /** The kernel's config when the build found one (`boot/config-*` or `.config` in the kernel image). */
  configText?: string;
  /** The chosen formats with what each needs from the kernel (their records). */
  formats: readonly KernelCheckFormat[];
  compress: 'gzip' | 'zstd' | 'none';
  /** The `--arch` (default amd64): selects the arch's part of a fragment (`kernel-configs/<name>-<arch>.config`). */
  arch?: string;
  /** How messages name the kernel (e.g. its image reference); default: the kernel file's name. */
  name?: string;
  /** The kernel's modules (from its modules tar), for needs a loader initrd can meet with modules. */
  modules?: ModuleIndex;
}

export interface KernelCheckResult {
  warnings: string[];
  errors: string[];
}

/** A config fragment (kernel-configs/NAME.config) a format cannot boot without, and what for. */
export interface Need {
  fragment: string;
  why: string;
  /**
   * The fragment's options may also be modules (those it annotates `# module NAME`): the format then boots
   * through a loader initrd that loads them (`rootVerdict`).
   */
  loader?: true;
}

/**
 * What a format needs from the kernel: a fragment, or `initrd` (the initramfs fragments for the chosen
 * compression), or `iso-root` (root from the CD when the kernel can mount it, else the initrd fallback).
 */
export type KernelNeed = Need | 'initrd' | 'iso-root';

/** A chosen format as the check sees it (an output format record satisfies this). */
export interface KernelCheckFormat {
  name: string;
  kernel: readonly KernelNeed[];
}

/** The UEFI stub, for every format that boots through UEFI. */
export const EFI_NEED: Need = { fragment: 'efi', why: 'booting through UEFI' };
const ISO_ROOT: Need = { fragment: 'iso9660', why: 'mounting root from the CD (root=/dev/sr0)' };

const ADVISED: readonly Need[] = [
  { fragment: 'containers', why: 'running containers (namespaces, cgroups, overlayfs)' },
  { fragment: 'virtio', why: '`mobyts run qemu` (virtio devices, serial console)' },
];

/**
 * Checks the kernel for `formats`. Uses `configText` when given, else the config embedded in the kernel
 * (IKCONFIG); when neither exists returns exactly one warning saying so and no errors. Formats without kernel
 * needs (tar, docker) are ignored.
 */
export function checkKernel(opts: CheckKernelOptions): KernelCheckResult {
  const bootable = opts.formats.filter((f) => f.kernel.length > 0);
  if (bootable.length === 0) return { warnings: [], errors: [] };
  const found = opts.configText === undefined ? readEmbeddedConfig(opts.kernelPath) : { text: opts.configText };
  const text = found.text;
  const name = opts.name ?? basename(opts.kernelPath);
  const subject = `Kernel "${name}"`;
  if (text === undefined) {
    const why = found.note ?? 'no embedded IKCONFIG';
    return {
      warnings: [
        `Cannot check kernel "${name}": no kernel config found (no boot/config-* or .config in the kernel image, ${why})`,
      ],
      errors: [],
    };
  }
  const config = parseConfig(text);
  const arch = opts.arch ?? 'amd64';
  const errors = bootable.flatMap((f) =>
    formatErrors(config, f, { compress: opts.compress, arch, subject, modules: opts.modules }),
  );
  const warnings = [
    ...isoWarnings(config, bootable, { arch, subject }),
    ...ADVISED.flatMap((n) => warn(config, n, { arch, subject })),
  ];
  return { warnings: [...new Set(warnings)], errors };
}

function initrdNeeds(compress: CheckKernelOptions['compress']): Need[] {
  const base: Need = { fragment: 'initramfs', why: 'booting an initrd' };
  if (compress === 'none') return [base];
  return [base, { fragment: `initramfs-${compress}`, why: `unpacking a ${compress} initrd` }];
}

interface Subject {
  arch: string;
  subject: string;
}

function formatErrors(
  config: KernelConfig,
  format: KernelCheckFormat,
  o: Subject & { compress: CheckKernelOptions['compress']; modules: ModuleIndex | undefined },
): string[] {
  const { compress, subject } = o;
  const needs = format.kernel.flatMap((n) => {
    if (typeof n !== 'string' && n.loader === true) return [];
    if (n === 'initrd') return initrdNeeds(compress);
    if (n === 'iso-root') return canMountIsoRoot(config, o.arch) ? [] : initrdNeeds(compress);
    return [n];
  });
  const loaderErrors = format.kernel.flatMap((n) => {
    if (typeof n === 'string' || n.loader !== true) return [];
    const v = rootVerdict(config, n.fragment, o.modules, o.arch);
    return v.kind === 'missing'
      ? [`${subject} cannot boot format "${format.name}": ${n.why} needs ${v.missing.join(', ')}`]
      : [];
  });
  return [
    ...needs.flatMap((n) => {
      const missing = unmet(config, loadFragment(n.fragment, o.arch));
      return missing.length === 0
        ? []
        : [`${subject} cannot boot format "${format.name}": ${n.why} needs ${missing.join(', ')}`];
    }),
    ...loaderErrors,
  ];
}

/**
 * How a kernel reaches a root the fragment describes: `built-in` (every option `=y`: no initrd, LinuxKit's
 * outputs), `loader` (the rest are modules the kernel ships, with their dependencies: `modules` names those the
 * fragment annotates, for `loadOrder`), or `missing` (options neither built in nor loadable, a module
 * file absent, or no initramfs support for the loader itself), rendered for one error message. The fragment
 * includes its part for `arch` (default amd64), as `loadFragment` reads it.
 */
export type RootVerdict =
  { kind: 'built-in' } | { kind: 'loader'; modules: string[] } | { kind: 'missing'; missing: string[] };

const LOADER_COMPRESS = 'gzip';

export function rootVerdict(
  config: KernelConfig,
  fragment: string,
  index: ModuleIndex | undefined,
  arch?: string,
): RootVerdict {
  const reqs = loadFragment(fragment, arch).filter((r) => config.get(r.option) !== 'y');
  if (reqs.length === 0) return { kind: 'built-in' };
  const loadable = reqs.filter(
    (r): r is Requirement & { module: string } => r.module !== undefined && config.get(r.option) === 'm',
  );
  const missing = unmet(
    config,
    reqs.filter((r) => !loadable.includes(r as Requirement & { module: string })),
  );
  missing.push(
    ...unmet(
      config,
      initrdNeeds(LOADER_COMPRESS).flatMap((n) => loadFragment(n.fragment, arch)),
    ),
  );
  if (index === undefined) {
    if (loadable.length > 0)
      missing.push(
        `${loadable.map((r) => `${r.option}=y`).join(', ')} (${loadable.length > 1 ? 'are' : 'is'} m, and the kernel image has no lib/modules/*/modules.dep)`,
      );
    return { kind: 'missing', missing };
  }
  const where = `lib/modules/${index.version}`;
  for (const name of loadOrder(
    index,
    loadable.map((r) => r.module),
  ).missing) {
    const r = loadable.find((x) => moduleName(x.module) === name);
    missing.push(
      r === undefined
        ? `${name}.ko (a dependency, not in ${where})`
        : `${r.option}=y (is m, and ${name}.ko is not in ${where})`,
    );
  }
  return missing.length > 0 ? { kind: 'missing', missing } : { kind: 'loader', modules: loadable.map((r) => r.module) };
}

function isoWarnings(
  config: KernelConfig,
  formats: readonly KernelCheckFormat[],
  { arch, subject }: Subject,
): string[] {
  const iso = formats.filter((f) => f.kernel.includes('iso-root')).map((f) => f.name);
  if (iso.length === 0 || canMountIsoRoot(config, arch)) return [];
  const missing = unmet(config, loadFragment(ISO_ROOT.fragment, arch));
  return [
    `${subject} cannot mount root from the CD (${missing.join(', ')}): ${iso.join(', ')} will also carry the initrd and boot kernel+initrd`,
  ];
}

function warn(config: KernelConfig, n: Need, { arch, subject }: Subject): string[] {
  const missing = unmet(config, loadFragment(n.fragment, arch));
  return missing.length === 0 ? [] : [`${subject} lacks what ${n.why} needs: ${missing.join(', ')}`];
}

/** True when the kernel can mount its root from an ISO 9660 CD without modules (on `arch`, default amd64). */
export function canMountIsoRoot(config: KernelConfig | undefined, arch?: string): boolean {
  return config !== undefined && unmet(config, loadFragment(ISO_ROOT.fragment, arch)).length === 0;
}

/** The kernel's embedded config, parsed, or undefined (for formats deciding how to boot). */
export function kernelConfigOf(kernelPath: string): KernelConfig | undefined {
  const text = embeddedConfig(kernelPath);
  return text === undefined ? undefined : parseConfig(text);
}
