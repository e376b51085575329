/**
 * What a good boot of a mobyts OS looks like on the serial console (the init's contract): every container
 * that started also exited 0, onboot finished, services started, and onshutdown ran before poweroff.
 */
import { consoleTail } from '../../src/run/console.ts';

export interface BootExpectations {
  onboot: string[];
  services: string[];
  onshutdown: string[];
  /** Extra substrings the console must show (container output). */
  output: string[];
}

/** Throws an Error listing every unmet expectation, followed by the console tail; returns when all hold. */
export function assertCleanBoot(console: string, e: BootExpectations): void {
  const problems: string[] = [];
  const need = (s: string): void => {
    if (!console.includes(s)) problems.push(`never saw "${s}"`);
  };
  for (const [section, dirs] of [
    ['onboot', e.onboot],
    ['onshutdown', e.onshutdown],
  ] as const) {
    for (const d of dirs) {
      need(`mobyts-init: ${section} ${d}: start`);
      const exit = new RegExp(`mobyts-init: ${section} ${d}: exit (\\d+)`).exec(console);
      if (exit === null) problems.push(`${section} ${d} never exited`);
      else if (exit[1] !== '0') problems.push(`${section} ${d} exited with status ${exit[1]}`);
    }
  }
  need('mobyts-init: onboot done');
  for (const s of e.services) need(`mobyts-init: service ${s}: start`);
  need('mobyts-init: services started');
  need('mobyts-init: onshutdown done');
  for (const s of e.output) need(s);
  if (problems.length > 0)
    throw new Error(`Boot assertion failed: ${problems.join('; ')}\n--- console tail ---\n${consoleTail(console)}`);
}
