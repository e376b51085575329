/**
 * Asks a host tool for its version banner (for `mobyts version` and bug reports). Never throws: a tool that
 * fails, hangs past 3 s or prints nothing gives an empty string.
 */
import { execFile } from 'node:child_process';

/** The first two non-empty lines `path args` prints on stdout and stderr, whatever its exit status. */
export function toolBanner(path: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      path,
      [...args],
      { timeout: 3000, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
      (_err, stdout, stderr) => {
        // Some tools (mkfs.vfat --help, syslinux) exit non-zero yet print their version: judge the text only.
        resolve(
          `${stdout}\n${stderr}`
            .split('\n')
            .filter((l) => l.trim() !== '')
            .slice(0, 2)
            .join('\n'),
        );
      },
    );
  });
}
