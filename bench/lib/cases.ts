/**
 * The bench cases as plain data (full and small mode) and the image plan of each: which images, what role in
 * the spec, which files with which sizes. Pure: generate.ts turns a plan into pushed images, spec.ts into YAML.
 */
export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

export interface BenchCase {
  /** Stable row id (also in small mode, where sizes shrink). */
  id: string;
  /** Images in the spec, the kernel image included. */
  images: number;
  /** Total bytes of file data across all images (the kernel's bzImage and kernel.tar included). */
  dataBytes: number;
  /** When set: this many small files (64..1024 bytes) instead of `dataBytes` of larger files. */
  smallFiles?: number;
  /** Builds per measurement (median taken). */
  runs: number;
  /** Also time every output format on top of kernel+initrd. */
  formats: boolean;
}

export interface BenchConfig {
  small: boolean;
  cases: BenchCase[];
  /** Size of the generated kernel (`kernel` file; random bytes, never booted). */
  bzImageBytes: number;
  /** Content pool size (see content.ts). */
  poolBytes: number;
  /** Runs for each start-up row (`node -e 0`, `--version`, `validate`), interleaved; the median is reported. */
  startupRuns: number;
  /** Also measure start-up and a warm build with the CLI bundled as published, not type-stripped
   *  (on in small mode too, so the compiled path is checked; the start-up targets judge these rows). */
  compiled: boolean;
}

export function benchConfig(small: boolean): BenchConfig {
  if (small) {
    return {
      small,
      bzImageBytes: 64 * KiB,
      poolBytes: 4 * MiB,
      startupRuns: 1,
      compiled: true,
      cases: [
        { id: 'ref', images: 8, dataBytes: 512 * KiB, runs: 1, formats: true },
        { id: 'img1', images: 1, dataBytes: 512 * KiB, runs: 1, formats: false },
        { id: 'img32', images: 32, dataBytes: 512 * KiB, runs: 1, formats: false },
        { id: 'data256m', images: 8, dataBytes: 1 * MiB, runs: 1, formats: false },
        { id: 'data1g', images: 8, dataBytes: 1536 * KiB, runs: 1, formats: false },
        { id: 'data2g', images: 8, dataBytes: 2 * MiB, runs: 1, formats: false },
        { id: 'files100k', images: 8, dataBytes: 0, smallFiles: 700, runs: 1, formats: false },
      ],
    };
  }
  return {
    small,
    bzImageBytes: 4 * MiB,
    poolBytes: 64 * MiB,
    startupRuns: 11,
    compiled: true,
    cases: [
      { id: 'ref', images: 8, dataBytes: 10 * MiB, runs: 3, formats: true },
      { id: 'img1', images: 1, dataBytes: 10 * MiB, runs: 3, formats: false },
      { id: 'img32', images: 32, dataBytes: 10 * MiB, runs: 3, formats: false },
      { id: 'data256m', images: 8, dataBytes: 256 * MiB, runs: 1, formats: false },
      { id: 'files100k', images: 8, dataBytes: 0, smallFiles: 100_000, runs: 1, formats: false },
      { id: 'data1g', images: 8, dataBytes: 1 * GiB, runs: 1, formats: false },
      { id: 'data2g', images: 8, dataBytes: 2 * GiB, runs: 1, formats: false },
    ],
  };
}

export type Role = 'kernel' | 'init' | 'onboot' | 'service';

export interface PlannedFile {
  path: string;
  size: number;
}

export interface PlannedImage {
  role: Role;
  /** Repository name in the registry, e.g. `bench/ref/init1`. */
  repo: string;
  /** Container name in the spec (onboot/services). */
  name: string;
  /** For the kernel: files inside kernel.tar (lib/modules/...); for others: files of the image. */
  files: PlannedFile[];
}

/** LinuxKit minimal.yml's shape: kernel, then up to 3 init, 2 onboot, the rest services. */
function roles(images: number): Role[] {
  const out: Role[] = ['kernel'];
  for (let i = 1; i < images; i++) out.push(i <= 3 ? 'init' : i <= 5 ? 'onboot' : 'service');
  return out;
}

const FILE_SIZES = [4 * KiB, 64 * KiB, 512 * KiB, 2 * MiB];
const KERNEL_TAR_CAP = 32 * MiB;

/** Splits `bytes` into files cycling through FILE_SIZES (the last one takes the remainder), 256 per directory. */
function largeFiles(prefix: string, bytes: number): PlannedFile[] {
  const files: PlannedFile[] = [];
  for (let left = bytes, i = 0; left > 0; i++) {
    const size = Math.min(left, FILE_SIZES[i % FILE_SIZES.length] ?? KiB);
    files.push({ path: `${prefix}/d${Math.floor(i / 256)}/f${i}`, size });
    left -= size;
  }
  return files;
}

function smallFiles(prefix: string, count: number, first: number): PlannedFile[] {
  return Array.from({ length: count }, (_, k) => {
    const i = first + k;
    return { path: `${prefix}/d${Math.floor(i / 1000)}/f${i}`, size: 64 + ((i * 7919) % 961) };
  });
}

/** How many bytes (or small files) each image gets: the kernel's modules are capped, the rest share evenly. */
function shares(total: number, images: number, kernelCap: number): number[] {
  if (images === 1) return [total];
  const kernel = Math.min(kernelCap, Math.floor(total / images));
  const rest = total - kernel;
  const each = Math.floor(rest / (images - 1));
  return [
    kernel,
    ...Array.from({ length: images - 1 }, (_, i) => (i === images - 2 ? rest - each * (images - 2) : each)),
  ];
}

/** The images of `c`: kernel.tar holds the kernel's share minus the bzImage, other images their share. */
export function planImages(c: BenchCase, cfg: BenchConfig): PlannedImage[] {
  const rs = roles(c.images);
  const count = c.smallFiles;
  const byteShares = shares(Math.max(0, c.dataBytes - cfg.bzImageBytes), c.images, KERNEL_TAR_CAP);
  const fileShares = count === undefined ? [] : shares(count, c.images, Math.floor(count / c.images));
  let first = 0;
  return rs.map((role, i) => {
    const name = role === 'kernel' ? 'kernel' : `${role}${i}`;
    const prefix = role === 'kernel' ? 'lib/modules/6.6.0-bench/kernel' : `opt/${name}`;
    const files =
      count === undefined ? largeFiles(prefix, byteShares[i] ?? 0) : smallFiles(prefix, fileShares[i] ?? 0, first);
    first += files.length;
    return { role, repo: `bench/${c.id}/${name}`, name, files };
  });
}

/** Human label of a case's inputs, from what was actually generated. */
export function describeCase(c: BenchCase, plan: PlannedImage[], bzImage: number): string {
  const files = plan.reduce((n, p) => n + p.files.length, 0);
  const bytes = plan.reduce((n, p) => n + p.files.reduce((m, f) => m + f.size, 0), 0) + bzImage;
  return `${c.images} image${c.images === 1 ? '' : 's'}, ${files.toLocaleString('en-US')} files, ${formatSize(bytes)}`;
}

export function formatSize(bytes: number): string {
  if (bytes >= GiB) return `${(bytes / GiB).toFixed(2)} GiB`;
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  return `${(bytes / KiB).toFixed(0)} KiB`;
}
