/** The `Example(s):` block every command's `--help` ends with (shell lines, each shown after `$ `). */
export function examples(...lines: string[]): string {
  return `\n${lines.length === 1 ? 'Example' : 'Examples'}:\n${lines.map((l) => `  $ ${l}`).join('\n')}`;
}
