import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

export function registerTrust(program: Command, ctx: CliContext): void {
  const trust = program
    .command('trust')
    .summary('manage Docker Content Trust pins')
    .description('Notary roots are pinned on first use under $MOBYTS_TRUST_DIR (default ~/.mobyts/trust). A changed root key is refused until its pin is reset.');
  trust
    .command('reset')
    .summary('forget the pinned root and versions of repositories')
    .description('Forget the pinned Notary root (and the versions seen) of each REPO, e.g. linuxkit/kernel or docker.io/linuxkit/kernel; the next verification trusts whatever root the server has on first use.')
    .argument('<repo...>', 'repositories (tags and digests are ignored)')
    .option('--trust-dir <dir>', 'where Notary roots are pinned (default $MOBYTS_TRUST_DIR or ~/.mobyts/trust)')
    .action(async (repos: string[], f: { trustDir?: string }) => {
      const { runTrustReset } = await import('../../trust/reset.ts');
      await runTrustReset(repos, f.trustDir, ctx);
    });
}
