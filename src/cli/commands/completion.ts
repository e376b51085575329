/**
 * `mobyts completion bash|zsh|fish`: a completion script generated from the command tree itself (every
 * command module loaded, commander's declarations walked), so it cannot drift from the flags. It completes
 * commands and subcommands, the flags of the command at hand, and the values of flags with a closed set:
 * `-f/--format` (every output format, also after a comma), `--progress`, `--compress`, `--arch`, `--accel`.
 * Other values and arguments complete as file names.
 */
import type { Command, Option } from 'commander';
import type { CliContext } from '../context.ts';
import { usageError } from '../../util/errors.ts';

export interface CompletionOption {
  /** `-f`, `--format`, … */
  flags: string[];
  takesValue: boolean;
  /** The closed set of values, when there is one. */
  values?: readonly string[];
  description: string;
}

export interface CompletionNode {
  /** Command words after `mobyts`, space-separated; '' for the top level. */
  path: string;
  summary: string;
  subcommands: string[];
  /** The command's own options (the global ones are in the root node and apply everywhere). */
  options: CompletionOption[];
}

const ARCHES = ['amd64', 'arm64', 'riscv64', 's390x'];

function optionOf(o: Option, formats: readonly string[]): CompletionOption {
  const flags = [o.short, o.long].filter((f): f is string => f !== undefined);
  const takesValue = o.required || o.optional;
  const values = o.argChoices ?? (o.long === '--format' ? formats : o.long === '--arch' ? ARCHES : undefined);
  return { flags, takesValue, description: o.description, ...(takesValue && values !== undefined ? { values } : {}) };
}

/** Every command of `program` depth first, root first, with its options (hidden ones left out). */
export function completionTree(program: Command, formats: readonly string[]): CompletionNode[] {
  const nodes: CompletionNode[] = [];
  const walk = (cmd: Command, path: string): void => {
    nodes.push({
      path,
      summary: cmd.summary() || cmd.description().split('\n')[0] || '',
      subcommands: cmd.commands.map((c) => c.name()),
      options: cmd.options.filter((o) => !o.hidden).map((o) => optionOf(o, formats)),
    });
    for (const c of cmd.commands) walk(c, path === '' ? c.name() : `${path} ${c.name()}`);
  };
  walk(program, '');
  const root = nodes[0];
  root?.options.push({ flags: ['-h', '--help'], takesValue: false, description: 'display help' });
  return nodes;
}

const q = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

/** The bash function `_mobyts` (bash ≥ 4; zsh runs it through bashcompinit) and its `complete` line. */
export function bashScript(nodes: readonly CompletionNode[]): string {
  const root = nodes[0];
  const globals = root?.options ?? [];
  const flagsOf = (opts: readonly CompletionOption[], valued: boolean): string =>
    opts
      .filter((o) => !valued || o.takesValue)
      .flatMap((o) => o.flags)
      .join(' ');
  const subs = nodes
    .filter((n) => n.subcommands.length > 0)
    .map((n) => `    ${q(n.path)}) echo ${q(n.subcommands.join(' '))} ;;`);
  const opts = nodes.map(
    (n) => `    ${q(n.path)}) echo ${q(flagsOf(n === root ? n.options : [...n.options, ...globals], false))} ;;`,
  );
  const valued = nodes.map(
    (n) => `    ${q(n.path)}) echo ${q(flagsOf(n === root ? n.options : [...n.options, ...globals], true))} ;;`,
  );
  const values = nodes.flatMap((n) =>
    (n === root ? n.options : [...n.options, ...globals])
      .filter((o) => o.values !== undefined)
      .map((o) => `    ${o.flags.map((f) => q(`${n.path}|${f}`)).join('|')}) echo ${q((o.values ?? []).join(' '))} ;;`),
  );
  return `# mobyts completion for bash. Load it with:  source <(mobyts completion bash)
# or save it as ~/.local/share/bash-completion/completions/mobyts
_mobyts_subcommands() {
  case "$1" in
${subs.join('\n')}
  esac
}
_mobyts_options() {
  case "$1" in
${opts.join('\n')}
  esac
}
_mobyts_value_options() {
  case "$1" in
${valued.join('\n')}
  esac
}
_mobyts_values() {
  case "$1" in
${values.join('\n')}
  esac
}
_mobyts() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" path="" w i skip=""
  [ "$COMP_CWORD" -gt 0 ] && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if [ -n "$skip" ]; then skip=""; continue; fi
    case "$w" in
      -*=*) continue ;;
      -*) case " $(_mobyts_value_options "$path") " in *" $w "*) skip=1 ;; esac; continue ;;
    esac
    case " $(_mobyts_subcommands "$path") " in *" $w "*) path="\${path:+$path }$w" ;; esac
  done
  COMPREPLY=()
  if [ -n "$skip" ]; then
    local values
    values="$(_mobyts_values "$path|$prev")"
    [ -n "$values" ] || return 0
    if [[ "$cur" == *,* ]]; then
      COMPREPLY=($(compgen -P "\${cur%,*}," -W "$values" -- "\${cur##*,}"))
    else
      COMPREPLY=($(compgen -W "$values" -- "$cur"))
    fi
  elif [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_mobyts_options "$path")" -- "$cur"))
  else
    local subs
    subs="$(_mobyts_subcommands "$path")"
    [ -n "$subs" ] && COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  fi
  return 0
}
complete -o default -F _mobyts mobyts
`;
}

/** zsh: the bash function through zsh's bashcompinit (`source <(mobyts completion zsh)` in ~/.zshrc). */
export function zshScript(nodes: readonly CompletionNode[]): string {
  return `# mobyts completion for zsh. Load it with:  source <(mobyts completion zsh)   (e.g. in ~/.zshrc)
autoload -U +X compinit && { (( $+functions[compdef] )) || compinit; }
autoload -U +X bashcompinit && bashcompinit
${bashScript(nodes)
  .split('\n')
  .filter((l) => !l.startsWith('#'))
  .join('\n')}`;
}

/** fish: one `complete` line per command, flag and subcommand, conditioned on the command path typed so far. */
export function fishScript(nodes: readonly CompletionNode[]): string {
  const root = nodes[0];
  const paths = nodes.map((n) => n.path).filter((p) => p !== '');
  const valued = nodes.flatMap((n) =>
    (n === root ? n.options : [...n.options, ...(root?.options ?? [])])
      .filter((o) => o.takesValue)
      .flatMap((o) => o.flags.map((f) => `${n.path}|${f}`)),
  );
  const lines: string[] = [
    '# mobyts completion for fish. Load it with:  mobyts completion fish | source',
    '# or save it as ~/.config/fish/completions/mobyts.fish',
    `set -g __mobyts_paths ${paths.map(q).join(' ')}`,
    `set -g __mobyts_valued ${valued.map(q).join(' ')}`,
    'function __mobyts_path',
    '  set -l words (commandline -opc)',
    '  set -e words[1]',
    '  set -l path ""',
    '  set -l skip 0',
    '  for w in $words',
    '    if test $skip = 1; set skip 0; continue; end',
    '    if string match -q -- "-*" $w',
    '      if not string match -q -- "*=*" $w; and contains -- "$path|$w" $__mobyts_valued; set skip 1; end',
    '      continue',
    '    end',
    '    set -l next (string trim -- "$path $w")',
    '    if contains -- $next $__mobyts_paths; set path $next; end',
    '  end',
    '  echo $path',
    'end',
    'complete -c mobyts -f',
  ];
  const at = (path: string): string => `-n ${q(`test "$(__mobyts_path)" = ${q(path)}`)}`;
  const optionLine = (o: CompletionOption, condition: string): string => {
    const flags = o.flags.map((f) => (f.startsWith('--') ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`)).join(' ');
    const value = !o.takesValue ? '' : o.values === undefined ? ' -r -F' : ` -x -a ${q(o.values.join(' '))}`;
    return `complete -c mobyts ${condition}${condition === '' ? '' : ' '}${flags}${value} -d ${q(o.description)}`;
  };
  for (const o of root?.options ?? []) lines.push(optionLine(o, ''));
  for (const n of nodes) {
    for (const s of n.subcommands) {
      const child = nodes.find((c) => c.path === (n.path === '' ? s : `${n.path} ${s}`));
      lines.push(`complete -c mobyts ${at(n.path)} -a ${q(s)} -d ${q(child?.summary ?? '')}`);
    }
    if (n !== root) {
      for (const o of n.options) lines.push(optionLine(o, at(n.path)));
      if (n.subcommands.length === 0) lines.push(`complete -c mobyts ${at(n.path)} -F`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function registerCompletion(program: Command, ctx: CliContext): void {
  program
    .command('completion')
    .description(
      'Print a completion script for SHELL (bash, zsh or fish) on stdout: commands, subcommands, flags, and\nthe values of -f/--format and the other flags with a fixed set of values.',
    )
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText(
      'after',
      `
Examples:
  $ source <(mobyts completion bash)          # bash, now; add the line to ~/.bashrc to keep it
  $ source <(mobyts completion zsh)           # zsh (~/.zshrc)
  $ mobyts completion fish > ~/.config/fish/completions/mobyts.fish`,
    )
    .action(async function (this: Command, shell: string) {
      const generators: Record<string, (nodes: readonly CompletionNode[]) => string> = {
        bash: bashScript,
        zsh: zshScript,
        fish: fishScript,
      };
      const generate = generators[shell];
      if (generate === undefined) {
        const { didYouMean } = await import('../../spec/suggest.ts');
        throw usageError(
          `Cannot write completion for "${shell}": unknown shell${didYouMean(shell, Object.keys(generators))}`,
          'choose from bash, zsh, fish',
        );
      }
      // main() declares every command in full for `completion`, so the root program describes them all.
      const root = this.parent ?? this;
      const { allFormats } = await import('../../outputs/index.ts');
      ctx.stdout.write(
        generate(
          completionTree(
            root,
            allFormats().map((f) => f.name),
          ),
        ),
      );
    });
}
