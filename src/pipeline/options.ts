import type { RegistryOptions } from '../store/types.ts';

/**
 * Options of `mobyts build`, with LinuxKit's flag names (docs/linuxkit-behaviour.md#build-flags) so Makefiles keep
 * working. The CLI fills this from argv; library callers fill it directly.
 */
export interface BuildOptions {
  /** Output formats; empty = the spec's `outputs:` list, else `kernel+initrd` (`tar` with `-o`). */
  format: string[];
  /** Output base name; default: the last spec file's basename without extension, `moby` for stdin. */
  name?: string;
  /** Output directory (created if missing). */
  dir?: string;
  /** Single streamable output file, `-` for stdout. */
  output?: string;
  /** Disk size for the disk formats: `<n>M`, `<n>G` or bare `<n>` (GiB). */
  size?: string;
  pull: boolean;
  /** Go architecture name: amd64, arm64, riscv64, s390x. */
  arch: string;
  /** Image cache directory (an OCI layout); default `$LINUXKIT_CACHE` or `~/.linuxkit/cache`. */
  cache?: string;
  decompressKernel: boolean;
  inputTar?: string;
  sbom: boolean;
  sbomOutput: string;
  sbomCurrentTime: boolean;
  dryRun: boolean;
  /** initrd compression. */
  compress: 'gzip' | 'zstd' | 'none';
  /** `[registry=]url` mirrors (`--mirror`, `LINUXKIT_MIRROR`). */
  mirror: string[];
  insecureRegistry: string[];
  certFile?: string;
  /** Build exactly the digests pinned in this lockfile. */
  locked?: string;
  disableContentTrust: boolean;
  trustServer?: string;
  /** Push the outputs to this reference as one OCI artifact (docs/scale.md#artifacts). */
  push?: string | undefined;
  /** Remote section caches to read (`--cache-from`, docs/scale.md#remote-cache). */
  cacheFrom?: string[];
  /** Remote section cache to write (`--cache-to`). */
  cacheTo?: string | undefined;
}

/** Go's GOARCH for the host, the default `--arch`. */
export function hostArch(): string {
  const map: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    riscv64: 'riscv64',
    s390x: 's390x',
    ia32: '386',
    arm: 'arm',
  };
  return map[process.arch] ?? process.arch;
}

/**
 * `mobyts build`'s options as the CLI fills them when no flag is given (formats from the spec, SBOM on, gzip, the
 * host's arch), with `overrides` on top: for library callers and tests that set only what they mean.
 */
export function buildOptions(overrides: Partial<BuildOptions> = {}): BuildOptions {
  return {
    format: [],
    pull: false,
    arch: hostArch(),
    decompressKernel: false,
    sbom: true,
    sbomOutput: 'sbom.spdx.json',
    sbomCurrentTime: false,
    dryRun: false,
    compress: 'gzip',
    mirror: [],
    insecureRegistry: [],
    disableContentTrust: false,
    ...overrides,
  };
}

/** The registry options a build's flags give (mirrors, insecure hosts, CA file): one derivation for every step. */
export function buildRegistryOptions(opts: BuildOptions): RegistryOptions {
  return {
    mirrors: opts.mirror,
    insecureRegistries: opts.insecureRegistry,
    ...(opts.certFile === undefined ? {} : { caFile: opts.certFile }),
  };
}
