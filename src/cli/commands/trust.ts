import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { addRegistryFlags, registryOptions } from '../registry-flags.ts';
import { examples } from './help.ts';

interface RawVerifyFlags {
  insecureRegistry: string[];
  certFile?: string;
  trustServer?: string;
  trustDir?: string;
}

export function registerTrust(program: Command, ctx: CliContext): void {
  const trust = program
    .command('trust')
    .description(
      'Notary roots are pinned on first use under $MOBYTS_TRUST_DIR (default ~/.mobyts/trust). A changed root key is refused until its pin is reset.',
    )
    .addHelpText('after', examples('mobyts trust verify linuxkit/kernel:6.6.71'));
  trust
    .command('reset')
    .summary('forget the pinned root and versions of repositories')
    .description(
      'Forget the pinned Notary root (and the versions seen) of each REPO, e.g. linuxkit/kernel or docker.io/linuxkit/kernel; the next verification trusts whatever root the server has on first use.',
    )
    .argument('<repo...>', 'repositories (tags and digests are ignored)')
    .option('--trust-dir <dir>', 'where Notary roots are pinned (default $MOBYTS_TRUST_DIR or ~/.mobyts/trust)')
    .addHelpText('after', examples('mobyts trust reset linuxkit/kernel'))
    .action(async (repos: string[], f: { trustDir?: string }) => {
      const { runTrustReset } = await import('../../trust/reset.ts');
      for await (const { gun, existed } of runTrustReset(repos, f.trustDir))
        ctx.stderr.write(existed ? `reset trust pin for ${gun}\n` : `no trust pin for ${gun} (nothing to reset)\n`);
    });
  const verify = trust
    .command('verify')
    .summary('resolve images through Notary and check the registry serves the signed digests')
    .description(
      'For each IMAGE, resolve its tag to the signed digest through its Notary server (TUF checks, root pinned on first use) and check the registry serves that digest for the tag. Prints IMAGE DIGEST and the signing role; exits 1 on the first failure.',
    )
    .argument('<image...>', 'image references, e.g. linuxkit/kernel:6.6.71')
    .option('--trust-server <url>', "Notary server (default $DOCKER_CONTENT_TRUST_SERVER, else Docker Hub's)")
    .option('--trust-dir <dir>', 'where Notary roots are pinned (default $MOBYTS_TRUST_DIR or ~/.mobyts/trust)')
    .addHelpText('after', examples('mobyts trust verify linuxkit/kernel:6.6.71'));
  addRegistryFlags(verify, { mirror: false, certFor: 'registries and the Notary server' }).action(
    async (images: string[], f: RawVerifyFlags) => {
      const [{ runTrustVerify }, { short }] = await Promise.all([
        import('../../trust/run-verify.ts'),
        import('../../trust/tuf.ts'),
      ]);
      const trustServer = f.trustServer ?? process.env['DOCKER_CONTENT_TRUST_SERVER'];
      const verified = runTrustVerify(
        images,
        {
          registry: registryOptions(f),
          ...(trustServer === undefined ? {} : { trustServer }),
          ...(f.trustDir === undefined ? {} : { trustDir: f.trustDir }),
        },
        ctx,
      );
      // `REF DIGEST signed by ROLE (KEYS)`, one line per image as it is verified.
      for await (const r of verified) {
        const by =
          r.signedBy.length === 0
            ? 'pinned by digest (no tag to verify)'
            : `signed by ${r.signedBy.join(', ')} (${r.keyIds.map(short).join(', ')})`;
        ctx.stdout.write(`${r.ref} ${r.digest} ${by}\n`);
      }
    },
  );
}
