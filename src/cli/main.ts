// The CLI process: `mobyts --version` alone is answered before commander and the command table load (it is
// what scripts and bug reports run most, and what the start-up target in docs/bench.md measures); everything
// else goes through the program, which loads only the command it runs.
const argv = process.argv.slice(2);
if (argv.length === 1 && argv[0] === '--version') {
  const { packageVersion } = await import('./version.ts');
  process.stdout.write(`${packageVersion()}\n`);
} else {
  const { main } = await import('./program.ts');
  process.exitCode = await main(argv);
}
