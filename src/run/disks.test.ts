import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDiskFlag, prepareDisks } from './disks.ts';

const dir = mkdtempSync(join(tmpdir(), 'mobyts-disks-'));
after(() => rmSync(dir, { recursive: true, force: true }));

void test("--disk takes LinuxKit's file=,size=,format= keys, a bare first path, and a default file", () => {
  assert.deepEqual(parseDiskFlag('file=a.img,size=1G,format=qcow2', 'x'), {
    file: 'a.img',
    size: '1G',
    format: 'qcow2',
  });
  assert.deepEqual(parseDiskFlag('b.img', 'x'), { file: 'b.img', format: 'raw' });
  assert.deepEqual(parseDiskFlag('size=10M', 'hello-disk0.img'), {
    file: 'hello-disk0.img',
    size: '10M',
    format: 'raw',
  });
  assert.throws(
    () => parseDiskFlag('file=a,colour=red', 'x'),
    /Invalid --disk "file=a,colour=red": unknown key "colour"/,
  );
});

void test('a missing disk with a size is created; without a size it is a usage error', async () => {
  const file = join(dir, 'd.img');
  assert.deepEqual(await prepareDisks([{ file, size: '4M', format: 'raw' }]), [{ file, format: 'raw' }]);
  assert.equal(statSync(file).size, 4 * 1024 * 1024);
  await assert.rejects(
    prepareDisks([{ file: join(dir, 'none.img'), format: 'raw' }]),
    /does not exist and --disk gives no size=/,
  );
});

void test("a disk qemu-img cannot create fails with qemu-img's own reason", async () => {
  const file = join(dir, 'no-such-dir', 'd.img');
  await assert.rejects(prepareDisks([{ file, size: '1M', format: 'raw' }]), {
    code: 'TOOL_FAILED',
    message: `Cannot create disk "${file}": qemu-img failed: qemu-img: ${file}: Could not create '${file}': No such file or directory`,
  });
});
