/** What a command gets from the CLI shell: the library's CommandContext plus the exit code, which only the CLI sets. */
import type { CommandContext } from '../util/context.ts';

export interface CliContext extends CommandContext {
  /** Sets the exit code without throwing (e.g. `validate` found problems it already printed). */
  setExitCode(code: number): void;
}
