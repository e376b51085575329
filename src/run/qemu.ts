/**
 * Boots an image under qemu and judges the boot from its serial console: the library behind
 * `mobyts run qemu --until`, the boot tests and the format tests.
 *
 * qemu is declared in the catalog (`TOOLS.qemuSystemX86`, `TOOLS.ovmf`) but started with `spawnProcess`
 * (tools/spawn.ts) rather than `runTool`, because `runTool` runs a program to completion and only hands back its
 * output at the end, while a boot needs the serial console streamed line by line (to judge markers and stop
 * early) and a stdin to send keys; run-qemu.ts starts it the same way for the interactive console. One-shot
 * helpers such as `qemu-img create` (disks.ts) go through `runTool`.
 */
import { existsSync } from 'node:fs';
import { spawnProcess } from '../tools/spawn.ts';
import { MobyError } from '../util/errors.ts';
import { ConsoleWatch, consoleTail } from './console.ts';
import {
  defaultFirmware,
  qemuArgv,
  qemuBinary,
  qemuPackage,
  type Accel,
  type BootKind,
  type ExtraDisk,
  type Firmware,
  type QemuMachine,
  type RootAttach,
} from './qemu-argv.ts';

export interface BootOptions {
  kind: BootKind;
  /** Default bios; efi-kernel always uses efi. */
  firmware?: Firmware;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  image?: string;
  imageFormat?: string;
  /** kernel: the read-only root image and how it is attached (kernel+squashfs/erofs/iso). */
  root?: string;
  rootAs?: RootAttach;
  /** MiB, default 1024. */
  mem?: number;
  /** Default 1. */
  cpus?: number;
  /** Default tcg (docs/boot.md#accel: a present /dev/kvm may still hang guests). */
  accel?: Accel;
  disks?: ExtraDisk[];
  /** Default true: the boot image is never modified. */
  snapshot?: boolean;
  /** Stop and fail after this many seconds; default 120. */
  timeoutSeconds?: number;
  /** Succeed once all of these appeared on the console (substrings); none = succeed when qemu exits 0. */
  until?: string[];
  /** Fail as soon as one of these appears. */
  fail?: string[];
  /** After the `until` markers, keep going until qemu exits and require exit status 0. */
  waitForExit?: boolean;
  arch?: string;
  ovmf?: string;
  /** qemu binary; default qemu-system-<arch> on PATH. */
  qemu?: string;
  /** Console input: when `when` first appears on the console, `send` is typed into the serial port. */
  script?: Array<{ when: string; send: string }>;
  /** Called with each console chunk as it arrives (e.g. to stream it to a terminal). */
  onConsole?: (chunk: Buffer) => void;
  signal?: AbortSignal;
}

export type BootEnd = 'markers' | 'exit' | 'fail-marker' | 'timeout' | 'aborted';

export interface BootResult {
  ok: boolean;
  /** Everything the guest wrote to the serial console (latin1-decoded). */
  console: string;
  /** Seconds after qemu started at which each `until` marker first appeared. */
  markers: Record<string, number>;
  /** The `fail` marker that ended the boot, if any. */
  failedMarker: string | undefined;
  seconds: number;
  /** qemu's exit status (null when it was killed). */
  exitCode: number | null;
  end: BootEnd;
  /** One sentence: why the boot failed ('' when ok), with the console tail and qemu's stderr. */
  failure: string;
  argv: string[];
}

/** The qemu machine for `opts`, with the defaults applied. Pure. */
export function machineFor(opts: BootOptions): QemuMachine {
  const firmware = opts.kind === 'efi-kernel' ? 'efi' : (opts.firmware ?? 'bios');
  const arch = opts.arch ?? 'amd64';
  return {
    arch,
    kind: opts.kind,
    firmware,
    kernel: opts.kernel,
    initrd: opts.initrd,
    cmdline: opts.cmdline,
    image: opts.image,
    imageFormat: opts.imageFormat,
    ...(opts.root === undefined ? {} : { root: opts.root, rootAs: opts.rootAs ?? 'virtio-disk' }),
    mem: opts.mem ?? 1024,
    cpus: opts.cpus ?? 1,
    accel: opts.accel ?? 'tcg',
    disks: opts.disks ?? [],
    snapshot: opts.snapshot ?? true,
    ovmf: opts.ovmf ?? defaultFirmware(arch),
    interactive: false,
  };
}

function checkFiles(m: QemuMachine): void {
  const files = [m.kernel, m.initrd, m.image, m.firmware === 'efi' ? m.ovmf : undefined, ...m.disks.map((d) => d.file)];
  for (const f of files) {
    if (f !== undefined && !existsSync(f)) {
      throw new MobyError(`Cannot boot: "${f}" does not exist`, {
        code: 'NOT_FOUND',
        ...(f === m.ovmf
          ? { hint: `install the EFI firmware: apt-get install ${m.arch === 'arm64' ? 'qemu-efi-aarch64' : 'ovmf'}` }
          : {}),
      });
    }
  }
}

/**
 * Boots once and resolves with the verdict; rejects only when qemu cannot be started at all (TOOL_MISSING,
 * NOT_FOUND). qemu is always gone when the promise settles (killed on markers, fail markers, timeout or abort).
 */
export async function bootImage(opts: BootOptions): Promise<BootResult> {
  const machine = machineFor(opts);
  checkFiles(machine);
  const argv = qemuArgv(machine);
  const binary = opts.qemu ?? qemuBinary(opts.arch ?? 'amd64');
  const script = opts.script ?? [];
  const watch = new ConsoleWatch([...new Set([...(opts.until ?? []), ...script.map((s) => s.when)])], opts.fail ?? []);
  const until = opts.until ?? [];
  const sent = new Set<number>();
  const started = performance.now();
  const elapsed = (): number => Math.round((performance.now() - started) / 10) / 100;
  const child = spawnProcess(binary, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {
    /* qemu gone: nothing left to type into */
  });
  if (script.length === 0) child.stdin.end();
  let stderr = '';
  let end: BootEnd | undefined;
  const stop = (why: BootEnd): void => {
    end ??= why;
    child.kill('SIGKILL');
  };
  const timer = setTimeout(() => stop('timeout'), (opts.timeoutSeconds ?? 120) * 1000);
  const onAbort = (): void => stop('aborted');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  child.stderr.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  child.stdout.on('data', (c: Buffer) => {
    opts.onConsole?.(c);
    watch.push(c, elapsed());
    for (const [i, step] of script.entries()) {
      if (!sent.has(i) && watch.state.seen.has(step.when)) {
        sent.add(i);
        child.stdin.write(step.send);
      }
    }
    const complete = until.length > 0 && until.every((m) => watch.state.seen.has(m));
    if (watch.state.failed !== undefined) stop('fail-marker');
    else if (complete && opts.waitForExit !== true) stop('markers');
  });
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err.code === 'ENOENT'
          ? new MobyError(`Cannot boot: "${binary}" is not installed`, {
              code: 'TOOL_MISSING',
              hint: `apt-get install ${qemuPackage(machine.arch)}`,
              cause: err,
            })
          : err,
      );
    });
    child.on('close', (code) => resolve(code));
  }).finally(() => {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  });
  return verdict({
    watch,
    until,
    exitCode,
    end: end ?? 'exit',
    seconds: elapsed(),
    stderr,
    argv: [binary, ...argv],
    waitForExit: opts.waitForExit === true,
  });
}

interface VerdictInput {
  watch: ConsoleWatch;
  /** The caller's until markers (the watch also tracks script triggers). */
  until: string[];
  exitCode: number | null;
  end: BootEnd;
  seconds: number;
  stderr: string;
  argv: string[];
  waitForExit: boolean;
}

function verdict(v: VerdictInput): BootResult {
  const { watch } = v;
  const missing = v.until.filter((m) => !watch.state.seen.has(m));
  const exitOk =
    v.end === 'markers' || (v.end === 'exit' && (v.exitCode === 0 || (!v.waitForExit && v.until.length > 0)));
  const ok = watch.state.failed === undefined && missing.length === 0 && exitOk;
  const why = ok ? '' : describeFailure(v, missing);
  return {
    ok,
    console: watch.console,
    markers: Object.fromEntries([...watch.state.seen].filter(([m]) => v.until.includes(m))),
    failedMarker: watch.state.failed,
    seconds: v.seconds,
    exitCode: v.exitCode,
    end: v.end,
    argv: v.argv,
    failure: ok
      ? ''
      : `${why}\n--- console tail ---\n${consoleTail(watch.console)}${v.stderr.trim() === '' ? '' : `\n--- qemu stderr ---\n${v.stderr.trim()}`}`,
  };
}

function describeFailure(v: VerdictInput, missing: string[]): string {
  const waiting = missing.length === 0 ? '' : `; never saw ${missing.map((m) => JSON.stringify(m)).join(', ')}`;
  switch (v.end) {
    case 'fail-marker':
      return `Boot failed after ${v.seconds} s: the console showed ${JSON.stringify(v.watch.state.failed)}`;
    case 'timeout':
      return `Boot timed out after ${v.seconds} s${waiting}`;
    case 'aborted':
      return `Boot interrupted after ${v.seconds} s${waiting}`;
    default:
      return `qemu exited with status ${String(v.exitCode)} after ${v.seconds} s${waiting}`;
  }
}
