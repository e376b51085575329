// pkg build --push against the real registry: what was built is what a fresh store pulls back.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPackage } from '../../src/pkg/build.ts';
import { pushPackage } from '../../src/pkg/push.ts';
import { parseReference } from '../../src/oci/reference.ts';
import { openStore, platformFor } from '../../src/store/index.ts';
import { silentReporter } from '../../src/util/reporter.ts';
import { startRegistry } from '../helpers/registry.ts';

const dir = mkdtempSync(join(tmpdir(), 'mobyts-pkgpush-'));
after(() => rmSync(dir, { recursive: true, force: true }));

void test('a pushed package pulls back into an empty store with the same digest and files', async (t) => {
  const reg = await startRegistry();
  t.after(() => reg.stop());
  const pkg = join(dir, 'pkg');
  mkdirSync(join(pkg, 'files/etc'), { recursive: true });
  writeFileSync(
    join(pkg, 'build.yml'),
    `image: pushed\norg: ${reg.host}/example\ncontents: ./files\nimageConfig:\n  Cmd: ["/bin/true"]\n`,
  );
  writeFileSync(join(pkg, 'files/etc/issue'), 'pushed package\n');
  const store = await openStore(join(dir, 'cache'));
  const built = await buildPackage(pkg, {
    store,
    archs: ['amd64'],
    force: false,
    sourceDateEpoch: 1492533000,
    reporter: silentReporter,
  });
  assert.match(built.ref, new RegExp(`^${reg.host}/example/pushed:[0-9a-f]{40}$`));
  const pushed = await pushPackage(store, built.ref, { registry: reg.registryOptions, reporter: silentReporter });
  assert.equal(pushed, built.digest);
  const fresh = await openStore(join(dir, 'fresh'));
  const image = await fresh.getImage(parseReference(built.ref), reg.pullOptions(platformFor('amd64')));
  assert.equal(image.config.config?.Cmd?.[0], '/bin/true');
  assert.equal((await fresh.getRef(parseReference(built.ref).expanded))?.digest, built.digest);
});
