/**
 * The qemu command line for one boot, as a typed value turned into argv by a pure function (no I/O), so
 * tests can check exactly what `mobyts run qemu` would start. Choices follow docs/boot.md#command-line and #accel:
 * serial console on stdio, `-no-reboot` so a guest poweroff or panic ends qemu, TCG unless KVM is asked for.
 */

import type { BootKind, Firmware, RootAttach } from '../outputs/format.ts';

/** Boot kinds and firmware are the format records' (outputs/format.ts), so a record's recipe is a machine's. */
export type { BootKind, Firmware, RootAttach };
export type Accel = 'tcg' | 'kvm';

export interface ExtraDisk {
  file: string;
  /** qemu block format; default raw. */
  format?: string;
  /** Bus; default virtio. */
  interface?: 'virtio' | 'ide' | 'scsi';
  readonly?: boolean;
}

/** What a machine boots: the boot path and its files (the part `run qemu` finds from a build's outputs). */
export interface BootMedia {
  kind: BootKind;
  firmware: Firmware;
  /** kernel and efi-kernel: the kernel (bzImage, PVH vmlinux or UKI). */
  kernel?: string;
  /** kernel: the initrd. */
  initrd?: string;
  /** kernel: the command line. */
  cmdline?: string;
  /** cdrom and disk: the image file. */
  image?: string;
  /** disk: the image format (raw, qcow2, vpc, vmdk); default raw. */
  imageFormat?: string;
  /** kernel: a read-only root image (kernel+squashfs/erofs/iso), attached as `rootAs` before any other disk. */
  root?: string;
  rootAs?: RootAttach;
}

export interface QemuMachine extends BootMedia {
  /** Go architecture of the guest (amd64, arm64); selects the machine, CPU, firmware and buses. */
  arch: string;
  /** Guest memory in MiB. */
  mem: number;
  cpus: number;
  accel: Accel;
  disks: ExtraDisk[];
  /** Write-protect the boot image: guest writes go to a temporary overlay (`snapshot=on`). */
  snapshot: boolean;
  /** UEFI firmware image for `firmware: 'efi'` (OVMF for amd64, AAVMF/QEMU_EFI for arm64). */
  ovmf: string;
  /** `mon:stdio` (Ctrl-A X, Ctrl-A C) for interactive use instead of a plain serial on stdio. */
  interactive: boolean;
  /** Let the guest end qemu with a status byte at port 0xf4 (docs/boot.md#debug-exit). */
  debugExit?: boolean;
}

export const DEFAULT_OVMF = '/usr/share/ovmf/OVMF.fd';

/**
 * What differs per guest architecture. amd64: qemu's default PC, IDE for the CD and the boot disk. arm64: the
 * `virt` machine with a Cortex-A57 (TCG emulates it about 4x faster than `-cpu max`, whose pointer
 * authentication is costly), Debian's qemu-efi-aarch64 firmware, and no IDE there: the CD on virtio-scsi,
 * the boot disk on virtio-blk (both handled by the firmware; the kernel only needs them for its own use).
 */
interface ArchQemu {
  machine: string[];
  /** The CPU TCG emulates (KVM always uses `-cpu host`); qemu's default when absent. */
  tcgCpu?: string;
  firmware: string;
  cdrom: (image: string) => string[];
  disk: (image: string, format: string, snap: string) => string[];
}

const PC: ArchQemu = {
  machine: [],
  firmware: DEFAULT_OVMF,
  cdrom: (f) => ['-drive', `file=${escapeOpt(f)},media=cdrom,readonly=on,if=ide,index=2`],
  disk: (f, fmt, snap) => ['-drive', `file=${escapeOpt(f)},format=${fmt},if=ide,index=0${snap}`],
};

const ARCHS: Readonly<Record<string, ArchQemu>> = {
  amd64: PC,
  arm64: {
    machine: ['-machine', 'virt'],
    tcgCpu: 'cortex-a57',
    firmware: '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd',
    cdrom: (f) => [
      '-device',
      'virtio-scsi-pci,id=scsi0',
      '-drive',
      `file=${escapeOpt(f)},media=cdrom,readonly=on,if=none,id=cd0`,
      '-device',
      'scsi-cd,drive=cd0,bus=scsi0.0',
    ],
    disk: (f, fmt, snap) => ['-drive', `file=${escapeOpt(f)},format=${fmt},if=virtio${snap}`],
  },
};

/** The guest architectures `mobyts run qemu` knows how to boot. */
export const QEMU_ARCHS: readonly string[] = Object.keys(ARCHS);

function archQemu(arch: string): ArchQemu {
  const a = ARCHS[arch];
  if (a === undefined) throw new Error(`qemuArgv: no qemu machine for arch ${arch}`);
  return a;
}

/** The UEFI firmware `firmware: 'efi'` boots of `arch` use by default. */
export function defaultFirmware(arch: string): string {
  return (ARCHS[arch] ?? PC).firmware;
}

/** qemu-system-<arch> for a Go architecture name. */
export function qemuBinary(arch: string): string {
  const map: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64', riscv64: 'riscv64', s390x: 's390x' };
  return `qemu-system-${map[arch] ?? arch}`;
}

/** The Debian package with qemu-system-<arch> for a Go architecture. */
export function qemuPackage(arch: string): string {
  return arch === 'arm64' ? 'qemu-system-arm' : arch === 'amd64' ? 'qemu-system-x86' : 'qemu-system-misc';
}

function bootArgs(m: QemuMachine): string[] {
  const snap = m.snapshot ? ',snapshot=on' : '';
  const a = archQemu(m.arch);
  switch (m.kind) {
    case 'kernel':
      return [
        '-kernel',
        required(m.kernel, 'kernel'),
        ...(m.initrd === undefined ? [] : ['-initrd', m.initrd]),
        ...(m.cmdline === undefined ? [] : ['-append', m.cmdline]),
        ...rootArgs(m),
      ];
    case 'efi-kernel':
      return ['-kernel', required(m.kernel, 'kernel'), ...(m.cmdline === undefined ? [] : ['-append', m.cmdline])];
    case 'cdrom':
      return a.cdrom(required(m.image, 'image'));
    case 'disk':
      return a.disk(required(m.image, 'image'), m.imageFormat ?? 'raw', snap);
  }
}

/**
 * The root image of a kernel boot: first virtio disk (`/dev/vda`) or the arch's CD (`/dev/sr0`: IDE on a PC,
 * virtio-scsi on arm64's virt machine), read-only.
 */
function rootArgs(m: QemuMachine): string[] {
  if (m.root === undefined) return [];
  if (m.rootAs === 'cdrom') return archQemu(m.arch).cdrom(m.root);
  return ['-drive', `file=${escapeOpt(m.root)},format=raw,if=virtio,readonly=on`];
}

function required(value: string | undefined, what: string): string {
  if (value === undefined) throw new Error(`qemuArgv: ${what} is required for this boot kind`);
  return value;
}

/** qemu's option syntax doubles commas inside values. */
export function escapeOpt(value: string): string {
  return value.replaceAll(',', ',,');
}

function diskArgs(disks: readonly ExtraDisk[]): string[] {
  return disks.flatMap((d) => [
    '-drive',
    `file=${escapeOpt(d.file)},format=${d.format ?? 'raw'},if=${d.interface ?? 'virtio'}${d.readonly === true ? ',readonly=on' : ''}`,
  ]);
}

function machineArgs(m: QemuMachine): string[] {
  const a = archQemu(m.arch);
  const cpu = m.accel === 'kvm' ? 'host' : a.tcgCpu;
  return ['-accel', m.accel, ...a.machine, ...(cpu === undefined ? [] : ['-cpu', cpu])];
}

/**
 * The argv (without the binary) for `m`. Throws a plain Error (a caller bug) when the kind's file is missing.
 * The same machine always gives the same argv.
 */
export function qemuArgv(m: QemuMachine): string[] {
  return [
    ...machineArgs(m),
    '-nodefaults',
    '-display',
    'none',
    '-no-reboot',
    '-serial',
    m.interactive ? 'mon:stdio' : 'stdio',
    '-m',
    String(m.mem),
    '-smp',
    String(m.cpus),
    ...(m.firmware === 'efi' ? ['-bios', m.ovmf] : []),
    ...bootArgs(m),
    ...diskArgs(m.disks),
    ...(m.debugExit === true ? ['-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'] : []),
  ];
}
