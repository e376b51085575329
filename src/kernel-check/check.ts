/**
 * The kernel check: before building, compare the kernel's config with what the chosen formats need
 * (kernel-configs/*.config) and report missing options by name — errors for what a format cannot boot without,
 * warnings for the rest. Pure apart from reading the kernel and the fragments.
 */
import { basename } from 'node:path';
import { embeddedConfig } from './embedded-config.ts';
import { loadFragment, parseConfig, unmet, type KernelConfig } from './config-text.ts';

export interface CheckKernelOptions {
  kernelPath: string;
  /** The kernel's config when the build found one (`boot/config-*` or `.config` in the kernel image). */
  configText?: string;
  /** The chosen formats with what each needs from the kernel (their records). */
  formats: readonly KernelCheckFormat[];
  compress: 'gzip' | 'zstd' | 'none';
  /** How messages name the kernel (e.g. its image reference); default: the kernel file's name. */
  name?: string;
}

export interface KernelCheckResult {
  warnings: string[];
  errors: string[];
}

/** A config fragment (kernel-configs/NAME.config) a format cannot boot without, and what for. */
export interface Need {
  fragment: string;
  why: string;
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
  const text = opts.configText ?? embeddedConfig(opts.kernelPath);
  const name = opts.name ?? basename(opts.kernelPath);
  const subject = `Kernel "${name}"`;
  if (text === undefined) {
    return { warnings: [`Cannot check kernel "${name}": no kernel config found (no boot/config-* or .config in the kernel image, no embedded IKCONFIG)`], errors: [] };
  }
  const config = parseConfig(text);
  const errors = bootable.flatMap((f) => formatErrors(config, f, opts.compress, subject));
  const warnings = [...isoWarnings(config, bootable, subject), ...ADVISED.flatMap((n) => warn(config, n, subject))];
  return { warnings: [...new Set(warnings)], errors };
}

function initrdNeeds(compress: CheckKernelOptions['compress']): Need[] {
  const base: Need = { fragment: 'initramfs', why: 'booting an initrd' };
  if (compress === 'none') return [base];
  return [base, { fragment: `initramfs-${compress}`, why: `unpacking a ${compress} initrd` }];
}

function formatErrors(config: KernelConfig, format: KernelCheckFormat, compress: CheckKernelOptions['compress'], subject: string): string[] {
  const needs = format.kernel.flatMap((n) => {
    if (n === 'initrd') return initrdNeeds(compress);
    if (n === 'iso-root') return canMountIsoRoot(config) ? [] : initrdNeeds(compress);
    return [n];
  });
  return needs.flatMap((n) => {
    const missing = unmet(config, loadFragment(n.fragment));
    return missing.length === 0 ? [] : [`${subject} cannot boot format "${format.name}": ${n.why} needs ${missing.join(', ')}`];
  });
}

function isoWarnings(config: KernelConfig, formats: readonly KernelCheckFormat[], subject: string): string[] {
  const iso = formats.filter((f) => f.kernel.includes('iso-root')).map((f) => f.name);
  if (iso.length === 0 || canMountIsoRoot(config)) return [];
  const missing = unmet(config, loadFragment(ISO_ROOT.fragment));
  return [`${subject} cannot mount root from the CD (${missing.join(', ')}): ${iso.join(', ')} will also carry the initrd and boot kernel+initrd`];
}

function warn(config: KernelConfig, n: Need, subject: string): string[] {
  const missing = unmet(config, loadFragment(n.fragment));
  return missing.length === 0 ? [] : [`${subject} lacks what ${n.why} needs: ${missing.join(', ')}`];
}

/** True when the kernel can mount its root from an ISO 9660 CD without modules. */
export function canMountIsoRoot(config: KernelConfig | undefined): boolean {
  return config !== undefined && unmet(config, loadFragment(ISO_ROOT.fragment)).length === 0;
}

/** The kernel's embedded config, parsed, or undefined (for formats deciding how to boot). */
export function kernelConfigOf(kernelPath: string): KernelConfig | undefined {
  const text = embeddedConfig(kernelPath);
  return text === undefined ? undefined : parseConfig(text);
}
