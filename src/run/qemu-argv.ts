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
  /** Guest memory in MiB. */
  mem: number;
  cpus: number;
  accel: Accel;
  disks: ExtraDisk[];
  /** Write-protect the boot image: guest writes go to a temporary overlay (`snapshot=on`). */
  snapshot: boolean;
  /** OVMF firmware image for `firmware: 'efi'`. */
  ovmf: string;
  /** `mon:stdio` (Ctrl-A X, Ctrl-A C) for interactive use instead of a plain serial on stdio. */
  interactive: boolean;
  /** Let the guest end qemu with a status byte at port 0xf4 (docs/boot.md#debug-exit). */
  debugExit?: boolean;
}

export const DEFAULT_OVMF = '/usr/share/ovmf/OVMF.fd';

/** qemu-system-<arch> for a Go architecture name. */
export function qemuBinary(arch: string): string {
  const map: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64', riscv64: 'riscv64', s390x: 's390x' };
  return `qemu-system-${map[arch] ?? arch}`;
}

function bootArgs(m: QemuMachine): string[] {
  const snap = m.snapshot ? ',snapshot=on' : '';
  switch (m.kind) {
    case 'kernel':
      return [
        '-kernel', required(m.kernel, 'kernel'),
        ...(m.initrd === undefined ? [] : ['-initrd', m.initrd]),
        ...(m.cmdline === undefined ? [] : ['-append', m.cmdline]),
        ...rootArgs(m),
      ];
    case 'efi-kernel':
      return ['-kernel', required(m.kernel, 'kernel'), ...(m.cmdline === undefined ? [] : ['-append', m.cmdline])];
    case 'cdrom':
      return ['-drive', `file=${escapeOpt(required(m.image, 'image'))},media=cdrom,readonly=on,if=ide,index=2`];
    case 'disk':
      return ['-drive', `file=${escapeOpt(required(m.image, 'image'))},format=${m.imageFormat ?? 'raw'},if=ide,index=0${snap}`];
  }
}

/** The root image of a kernel boot: first virtio disk (`/dev/vda`) or the IDE CD (`/dev/sr0`), read-only. */
function rootArgs(m: QemuMachine): string[] {
  if (m.root === undefined) return [];
  if (m.rootAs === 'cdrom') return ['-drive', `file=${escapeOpt(m.root)},media=cdrom,readonly=on,if=ide,index=2`];
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

/**
 * The argv (without the binary) for `m`. Throws a plain Error (a caller bug) when the kind's file is missing.
 * The same machine always gives the same argv.
 */
export function qemuArgv(m: QemuMachine): string[] {
  return [
    '-accel', m.accel,
    ...(m.accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-nodefaults', '-display', 'none', '-no-reboot',
    '-serial', m.interactive ? 'mon:stdio' : 'stdio',
    '-m', String(m.mem), '-smp', String(m.cpus),
    ...(m.firmware === 'efi' ? ['-bios', m.ovmf] : []),
    ...bootArgs(m),
    ...diskArgs(m.disks),
    ...(m.debugExit === true ? ['-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'] : []),
  ];
}
