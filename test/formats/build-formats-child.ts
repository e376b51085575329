/**
 * Builds the chosen formats from prepared inputs in a child process, so the tests can run it as an unprivileged
 * user (`setpriv --reuid=65534`). argv: a JSON file with { kernel, initrd, cmdline, rootfs, rootfsNoBoot, outDir (one
 * subdirectory per format, as iso-bios/kernel+iso and vhd/dynamic-vhd share names), workDir, sizeBytes, formats }. Prints nothing on success; errors go to stderr with exit 1.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withBefore, writeParts } from '../../src/initrd/parts.ts';
import { allFormats } from '../../src/outputs/index.ts';
import type { FormatContext } from '../../src/outputs/format.ts';
import { preflight } from '../../src/tools/preflight.ts';
import { MobyError } from '../../src/util/errors.ts';
import { silentReporter } from '../../src/util/reporter.ts';
import { SDE } from './fixtures.ts';

interface ChildConfig {
  kernel: string;
  initrd: string;
  cmdline: string;
  rootfs: string;
  rootfsNoBoot: string;
  outDir: string;
  workDir: string;
  sizeBytes: number;
  formats: string[];
}

const cfg = JSON.parse(await readFile(process.argv[2]!, 'utf8')) as ChildConfig;
const chosen = allFormats().filter((f) => cfg.formats.includes(f.name));
try {
  preflight(chosen.flatMap((f) => f.tools));
  for (const format of chosen) {
    const workDir = join(cfg.workDir, format.name.replace('+', '-'));
    const outDir = join(cfg.outDir, format.name.replace('+', '-'));
    await mkdir(workDir, { recursive: true });
    await mkdir(outDir, { recursive: true });
    const ctx: FormatContext = {
      inputs: {
        kernelPath: cfg.kernel,
        cmdline: cfg.cmdline,
        initrdPath: () => Promise.resolve(cfg.initrd),
        // The prepared initrd as one part, written as a build writes its initrd.
        writeInitrd: async (dest, before) =>
          void (await writeParts(
            dest,
            await withBefore([...before, cfg.initrd], { parts: [], tail: Buffer.alloc(0) }),
          )),
        rootfsTarPath: () => Promise.resolve(cfg.rootfs),
        rootfsTarWithoutBootPath: () => Promise.resolve(cfg.rootfsNoBoot),
      },
      base: join(outDir, 'hello'),
      sizeBytes: cfg.sizeBytes,
      sourceDateEpoch: SDE,
      workDir,
      arch: 'amd64',
      kernel: {},
      reporter: silentReporter,
      signal: new AbortController().signal,
    };
    const t0 = performance.now();
    await format.write(ctx);
    process.stdout.write(`${format.name} ${((performance.now() - t0) / 1000).toFixed(2)}\n`);
  }
} catch (err) {
  const hint = err instanceof MobyError && err.hint !== undefined ? `\nhint: ${err.hint}` : '';
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}${hint}\n`);
  process.exit(1);
}
