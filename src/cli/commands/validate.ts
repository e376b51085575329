import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { showIssues } from '../show-issues.ts';

const EXAMPLES = `
Several files are checked together, merged as \`build\` merges them (later files add to earlier ones);
with --each, every file is checked on its own (e.g. mobyts validate --each examples/*.yml).

Output:
  Problems go to stderr, one per line, then a summary line:
    linuxkit.yml:12:7: onboot[0].capabilities[1]: unknown capability "CAP_NET_ADMN" (did you mean "CAP_NET_ADMIN"?)
    linuxkit.yml:20:11: files[0].mode: mode must be a quoted octal string: YAML reads the unquoted 0644 as the integer 420
      hint: quote it: mode: "0644"
    2 problems in linuxkit.yml
  A valid set prints "FILE: valid" on stdout.

Exit status: 0 valid (warnings allowed), 1 invalid or unreadable spec, 2 usage error.

Examples:
  $ mobyts validate linuxkit.yml
  $ mobyts validate base.yml extras.yml
  $ cat linuxkit.yml | mobyts validate -
  $ mobyts validate https://example.com/linuxkit.yml

Editors: add "# yaml-language-server: $schema=<path to mobyts>/schema/moby.schema.json" as the first line.`;

export function registerValidate(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .description('Check YAML specs (paths, - for stdin, or http(s) URLs) and report every problem at once.')
    .argument('<file...>', 'spec files')
    .option('--each', 'check every file on its own instead of as one merged build')
    .addHelpText('after', EXAMPLES)
    .action(async (files: string[], flags: { each?: boolean }) => {
      const { loadForValidate } = await import('../../spec/run-validate.ts');
      for (const set of flags.each === true ? files.map((f) => [f]) : [files]) {
        const loaded = await loadForValidate(set, ctx.signal);
        if (showIssues(loaded, ctx)) ctx.stdout.write(`${loaded.sources.map((s) => s.file).join(', ')}: valid\n`);
      }
    });
}
