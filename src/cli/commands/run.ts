import { Option, type Command } from 'commander';
import type { CliContext } from '../context.ts';
import { examples } from './help.ts';
import { hostArch } from '../../pipeline/options.ts';
import { addRegistryFlags, registryOptions } from '../registry-flags.ts';
import { usageError } from '../../util/errors.ts';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

interface RawRunFlags {
  mem: string;
  cpus: string;
  accel: 'tcg' | 'kvm' | 'auto';
  uefi?: boolean;
  format?: string;
  disk: string[];
  append?: string;
  timeout?: string;
  until: string[];
  fail: string[];
  arch: string;
  mirror: string[];
  insecureRegistry: string[];
  certFile?: string;
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw usageError(`${flag} must be a positive integer, got "${value}"`);
  return n;
}

export function registerRun(program: Command, ctx: CliContext): void {
  const run = program
    .command('run')
    .description("Boot the outputs of a build (LinuxKit's `linuxkit run`).")
    .addHelpText('after', examples('mobyts run qemu out/hello'));
  addRegistryFlags(
    run
      .command('qemu')
      .summary('boot a build output under qemu')
      .description(
        "Boot NAME under qemu with the serial console on this terminal. NAME is a build's -d/-n prefix\n(NAME-kernel + NAME-squashfs.img/-erofs.img/.iso + NAME-cmdline [+ NAME-initrd.img], NAME-kernel + NAME-initrd.img + NAME-cmdline, NAME.iso, NAME-efi.iso, NAME.efi, NAME-bios.img, NAME-efi.img,\nNAME.qcow2, NAME-efi.qcow2, NAME.raw, NAME.vhd, NAME.vmdk; the first found), an image file, or the reference of\nan artifact `mobyts push` wrote (registry/repo:tag), pulled first.\nWith --until or --timeout the boot is unattended: exit 0 only when every --until marker appeared.",
      )
      .argument('<name>', 'build prefix or image file')
      .option('--mem <MiB>', 'guest memory', '1024')
      .option('--cpus <n>', 'guest CPUs', '1')
      .addOption(
        new Option('--accel <accel>', 'tcg, kvm, or auto (try KVM with a timeout, fall back to TCG)')
          .choices(['tcg', 'kvm', 'auto'])
          .default('tcg'),
      )
      .option('--uefi', 'boot with EFI firmware (OVMF)')
      .option(
        '--format <format>',
        'boot this output of NAME (kernel+initrd, iso-bios, iso-efi, uki, raw-bios, raw-efi, qcow2-bios, ...)',
      )
      .addOption(
        new Option('--disk <spec>', 'extra disk file=PATH,size=SIZE,format=FMT, repeatable (created when missing)')
          .argParser(collect)
          .default([]),
      )
      .option('--append <words>', 'extra kernel command line for kernel+initrd boots (e.g. mobyts.poweroff=1)')
      .option('--timeout <seconds>', 'unattended: fail after this many seconds (default 300 with --until)')
      .addOption(
        new Option('--until <marker>', 'unattended: succeed once MARKER appeared on the console, repeatable')
          .argParser(collect)
          .default([]),
      )
      .addOption(
        new Option('--fail <marker>', 'unattended: fail as soon as MARKER appears, repeatable')
          .argParser(collect)
          .default([]),
      )
      .option('--arch <arch>', 'guest architecture', hostArch()),
    { mirror: true },
  )
    .addHelpText(
      'after',
      examples(
        'mobyts run qemu out/hello',
        "mobyts run qemu out/hello --timeout 300 --until 'mobyts-init: poweroff'",
        'mobyts run qemu --uefi myos-efi.iso',
      ),
    )
    .action(async (name: string, f: RawRunFlags) => {
      const { runQemu } = await import('../../run/run-qemu.ts');
      const mem = positiveInt('--mem', f.mem);
      const cpus = positiveInt('--cpus', f.cpus);
      const timeoutSeconds = f.timeout === undefined ? undefined : positiveInt('--timeout', f.timeout);
      const { withBootable } = await import('../../remote/fetch-target.ts');
      const target = {
        registry: registryOptions(f),
        reporter: ctx.reporter,
        signal: ctx.signal,
        ...(f.format === undefined ? {} : { format: f.format }),
      };
      const code = await withBootable(name, target, (local) =>
        runQemu(local, {
          mem,
          cpus,
          accel: f.accel,
          uefi: f.uefi === true,
          format: f.format,
          disks: f.disk,
          append: f.append,
          timeoutSeconds,
          until: f.until,
          fail: f.fail,
          arch: f.arch,
          reporter: ctx.reporter,
          stdout: ctx.stdout,
          signal: ctx.signal,
        }),
      );
      ctx.setExitCode(code);
    });
}
