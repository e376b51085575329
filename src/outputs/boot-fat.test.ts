import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runTool } from '../tools/run-tool.ts';
import { fatTarget, makeFat, type FatFile } from './boot-fat.ts';

const dir = mkdtempSync(join(tmpdir(), 'mobyts-fat-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Names a shell, a glob, an option parser or mtools' target patterns would read as something else. */
const ODD = ['[', '-rf', 'a b', 'ünï☃', '[ab]', '{x,y}', "it's", '$HOME', '~user', 'semi;colon', ']'];

void test('mtools targets: directories escape [ and ] (mtools reads them as patterns), the last name stays literal', () => {
  assert.equal(fatTarget('EFI/BOOT/BOOTX64.EFI'), '::/EFI/BOOT/BOOTX64.EFI');
  assert.equal(fatTarget('[d]/-rf/[ab]'), '::/\\[d\\]/-rf/[ab]');
  assert.equal(fatTarget('a b/ünï☃'), '::/a b/ünï☃');
});

void test('names FAT cannot hold are refused with BUILD before anything is written', async () => {
  for (const bad of ['*', '?', 'back\\slash', 'q"uote', 'a:b', 'x|y', 'tab\tx', 'a//b']) {
    assert.throws(() => fatTarget(bad), {
      code: 'BUILD',
      message: new RegExp(`^Cannot write "${bad.replace(/[\\|*?]/g, '\\$&')}" into a FAT`),
    });
  }
  const path = join(dir, 'bad.img');
  await assert.rejects(
    makeFat({
      path,
      stageDir: join(dir, 'bad'),
      files: [{ dest: 'x/*', from: { text: 'x' } }],
      label: 'T',
      sourceDateEpoch: 1492533000,
    }),
    { code: 'BUILD' },
  );
  assert.deepEqual(
    readdirSync(dir).filter((n) => n === 'bad.img'),
    [],
  );
});

void test('odd names, as files and as directories, reach the FAT image under their own names with their own contents', async () => {
  const files: FatFile[] = [];
  for (const n of ODD) {
    files.push({ dest: n, from: { text: `root ${n}\n` } });
    files.push({ dest: `dir ${n}/${n}`, from: { text: `in dir ${n}\n` } });
  }
  files.push({ dest: '[d]/[x]/-rf', from: { text: 'deep\n' } });
  const path = join(dir, 'odd.img');
  await makeFat({ path, stageDir: join(dir, 'odd'), files, label: 'ODD', sourceDateEpoch: 1492533000 });
  const out = join(dir, 'odd.out');
  mkdirSync(out);
  const utf8 = { sourceDateEpoch: 1492533000, env: { LC_ALL: 'C.UTF-8' } };
  await runTool('mcopy', ['-s', '-n', '-i', path, '::/*', `${out}/`], utf8);
  for (const f of files) {
    assert.equal(readFileSync(join(out, f.dest), 'utf8'), 'text' in f.from ? f.from.text : '', f.dest);
  }
  const { stdout } = await runTool('mdir', ['-b', '-s', '-i', path, '::/'], utf8);
  const listed = stdout.split('\n').filter((l) => l !== '' && !l.endsWith('/'));
  assert.equal(listed.length, files.length);
});
