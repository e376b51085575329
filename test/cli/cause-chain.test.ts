/**
 * A real failure from below reaches the user with its cause: a pull from a port nobody listens on, through the
 * real store and registry client, rendered by the CLI's renderer (exact text).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderError } from '../../src/cli/render-error.ts';
import { parseReference } from '../../src/oci/reference.ts';
import { openStore, platformFor } from '../../src/store/index.ts';
import type { Reporter } from '../../src/util/reporter.ts';
import { freePort } from '../helpers/registry.ts';

const silent: Reporter = { emit: () => undefined };

void test('connection refused: the message names the registry, the cause says what the OS said', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mobyts-cause-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const host = `127.0.0.1:${await freePort()}`;
  const store = await openStore(join(dir, 'cache'), { client: { retry: { tries: 1, baseDelayMs: 1, maxDelayMs: 1 } } });
  const err = await store
    .getImage(parseReference(`${host}/app:1`), {
      platform: platformFor('amd64'),
      pull: false,
      registry: { mirrors: [], insecureRegistries: [] },
      reporter: silent,
    })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.deepEqual(renderError(err), {
    text: `Error: Cannot pull "${host}/app:1": cannot reach ${host}\ncaused by: connect ECONNREFUSED ${host}\n`,
    exitCode: 1,
  });
});
