/**
 * The registry flags of `build`, `lock`, `cache pull`, `pkg build` and `trust verify`, declared once with
 * LinuxKit's names — `--mirror [REG=]URL` (commands that pull), `--insecure-registry HOST`, `--cert-file PEM` —
 * and the RegistryOptions they give.
 */
import { Option, type Command } from 'commander';
import type { RegistryOptions } from '../store/types.ts';

/** The parsed flags; `mirror` is absent for commands without `--mirror`. */
export interface RegistryFlags {
  mirror?: string[];
  insecureRegistry: string[];
  certFile?: string;
}

export interface RegistryFlagSpec {
  /** Offer `--mirror` (and read $LINUXKIT_MIRROR): the command pulls images. */
  mirror: boolean;
  /** What `--cert-file`'s CAs are for, in its help; default `registries`. */
  certFor?: string;
  /** When `--insecure-registry` applies, appended to its help (`when pushing`). */
  insecureWhen?: string;
}

/** A repeatable flag whose values may also be comma-separated: `--x a,b --x c` → `[a, b, c]`. */
export const collect = (value: string, previous: string[]): string[] => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
];

/** Adds the registry flags to `cmd` (returned for chaining). */
export function addRegistryFlags<C extends Command>(cmd: C, spec: RegistryFlagSpec): C {
  if (spec.mirror)
    cmd.addOption(
      new Option('--mirror <[registry=]url>', 'registry mirror, repeatable (also $LINUXKIT_MIRROR)')
        .argParser(collect)
        .default([]),
    );
  const when = spec.insecureWhen === undefined ? '' : ` ${spec.insecureWhen}`;
  cmd.addOption(
    new Option('--insecure-registry <host>', `allow plain HTTP or unverified TLS for HOST${when}, repeatable`)
      .argParser(collect)
      .default([]),
  );
  cmd.option('--cert-file <file>', `extra CA certificate(s) for ${spec.certFor ?? 'registries'} (PEM)`);
  return cmd;
}

/**
 * The RegistryOptions of `flags`: mirrors from $LINUXKIT_MIRROR (whitespace- or comma-separated) then `--mirror`,
 * as LinuxKit orders them, only for commands that have `--mirror`; insecure hosts; the CA file when given.
 */
export function registryOptions(flags: RegistryFlags, env: NodeJS.ProcessEnv = process.env): RegistryOptions {
  const envMirrors =
    flags.mirror === undefined ? [] : (env['LINUXKIT_MIRROR'] ?? '').split(/[\s,]+/).filter((s) => s !== '');
  return {
    mirrors: [...envMirrors, ...(flags.mirror ?? [])],
    insecureRegistries: flags.insecureRegistry,
    ...(flags.certFile === undefined ? {} : { caFile: flags.certFile }),
  };
}
