/**
 * `mobyts run qemu NAME`: find the build output, then either hand the console to the user (interactive) or,
 * with `--until`/`--timeout`, boot unattended, stream the console and succeed only when the markers appeared.
 * The interactive qemu inherits stdio (started with tools/spawn.ts `spawnProcess`, as qemu.ts's header explains).
 */
import { accessSync, constants } from 'node:fs';
import type { Writable } from 'node:stream';
import { spawnProcess } from '../tools/spawn.ts';
import { errnoDetail, MobyError } from '../util/errors.ts';
import type { Reporter } from '../util/reporter.ts';
import { parseDiskFlag, prepareDisks } from './disks.ts';
import { bootImage, machineFor, type BootOptions, type BootResult } from './qemu.ts';
import { QEMU_ARCHS, qemuArgv, qemuBinary, qemuPackage, type Accel } from './qemu-argv.ts';
import { findBootTarget, type BootTarget } from './targets.ts';

export interface RunQemuOptions {
  mem: number;
  cpus: number;
  accel: Accel | 'auto';
  /** EFI firmware even for outputs that boot with BIOS (LinuxKit's --uefi). */
  uefi: boolean;
  /** Boot this output format of the prefix (e.g. iso-efi) instead of the first one found. */
  format?: string;
  disks: string[];
  /** Extra kernel command line words for kernel+initrd boots. */
  append?: string;
  timeoutSeconds?: number;
  until: string[];
  fail: string[];
  arch: string;
  reporter: Reporter;
  stdout: Writable;
  signal: AbortSignal;
}

/** Seconds a KVM attempt gets under --accel auto before falling back to TCG (docs/boot.md#accel). */
const KVM_PROBE_SECONDS = 30;

async function bootOptions(name: string, target: BootTarget, opts: RunQemuOptions): Promise<BootOptions> {
  const cmdline = [target.cmdline, opts.append].filter((s) => s !== undefined && s !== '').join(' ');
  return {
    ...target,
    firmware: opts.uefi ? 'efi' : target.firmware,
    cmdline: target.kind === 'kernel' ? cmdline : target.cmdline,
    mem: opts.mem,
    cpus: opts.cpus,
    arch: opts.arch,
    disks: await prepareDisks(opts.disks.map((d, i) => parseDiskFlag(d, `${name}-disk${i}.img`))),
  };
}

/** Runs the boot; resolves with the process exit code (0 only when an unattended boot met its markers). */
export async function runQemu(name: string, opts: RunQemuOptions): Promise<number> {
  if (!QEMU_ARCHS.includes(opts.arch)) {
    throw new MobyError(
      `Cannot boot for ${opts.arch}: mobyts run qemu knows the machines of ${QEMU_ARCHS.join(', ')} only`,
      { code: 'USAGE', exitCode: 2, hint: 'see docs/formats.md#arm64 for what a riscv64 boot needs' },
    );
  }
  const target = await findBootTarget(name, opts.format);
  opts.reporter.emit({
    type: 'info',
    message: `Booting ${target.format === 'file' ? name : `${name} (${target.format})`} with qemu`,
  });
  const base = await bootOptions(name, target, opts);
  const unattended = opts.until.length > 0 || opts.timeoutSeconds !== undefined;
  if (!unattended) return interactive(base, opts);
  const result = await unattendedBoot(base, opts);
  if (!result.console.endsWith('\n')) opts.stdout.write('\n'); // qemu was stopped mid-line
  if (!result.ok) {
    // The console was streamed already; the error keeps the verdict and qemu's own complaints only.
    const [why = '', , stderrPart] = result.failure.split(/\n--- (?:console tail|qemu stderr) ---\n/);
    throw new MobyError(why + (stderrPart === undefined ? '' : `\nqemu: ${stderrPart}`), {
      code: 'BUILD',
      hint: 'the console above shows how far the guest got',
    });
  }
  opts.reporter.emit({ type: 'info', message: `Boot succeeded in ${result.seconds} s` });
  return 0;
}

async function unattendedBoot(base: BootOptions, opts: RunQemuOptions): Promise<BootResult> {
  const common: BootOptions = {
    ...base,
    until: opts.until,
    fail: opts.fail,
    timeoutSeconds: opts.timeoutSeconds ?? 300,
    signal: opts.signal,
    onConsole: (c) => void opts.stdout.write(c),
  };
  if (opts.accel !== 'auto') return bootImage({ ...common, accel: opts.accel });
  if (!kvmAccessible()) {
    opts.reporter.emit({ type: 'info', message: '/dev/kvm is not usable here; booting with TCG' });
    return bootImage({ ...common, accel: 'tcg' });
  }
  const probe = await bootImage({
    ...common,
    accel: 'kvm',
    timeoutSeconds: Math.min(KVM_PROBE_SECONDS, common.timeoutSeconds ?? 300),
  });
  if (probe.ok || probe.end !== 'timeout') return probe;
  opts.reporter.emit({
    type: 'warn',
    message: `KVM boot made no progress in ${probe.seconds} s; booting again with TCG`,
  });
  return bootImage({ ...common, accel: 'tcg' });
}

function kvmAccessible(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function interactive(base: BootOptions, opts: RunQemuOptions): Promise<number> {
  if (opts.accel === 'auto')
    opts.reporter.emit({
      type: 'info',
      message: 'interactive boot: --accel auto uses TCG (pass --accel kvm to use KVM)',
    });
  const machine = {
    ...machineFor(base),
    accel: opts.accel === 'kvm' ? ('kvm' as const) : ('tcg' as const),
    interactive: true,
  };
  opts.reporter.emit({ type: 'info', message: 'serial console follows; Ctrl-A X quits qemu' });
  const binary = qemuBinary(opts.arch);
  const child = spawnProcess(binary, qemuArgv(machine), { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.on('error', (err) =>
      reject(
        new MobyError(`Cannot start "${binary}"${errnoDetail(err)}`, {
          code: 'TOOL_MISSING',
          hint: `apt-get install ${qemuPackage(opts.arch)}`,
          cause: err,
        }),
      ),
    );
    child.on('close', (code) => resolve(code ?? 1));
  });
}
