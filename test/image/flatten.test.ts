/** Flattening generated images from real OCI layouts: whiteouts, opaque dirs, hardlinks, xattrs, safety. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import { flattenImage } from '../../src/image/flatten.ts';
import { digestOf } from '../../src/oci/digest.ts';
import { parseReference } from '../../src/oci/reference.ts';
import { MediaType } from '../../src/oci/types.ts';
import type { ImageSource } from '../../src/image/source.ts';
import { recordingReporter, silentReporter } from '../../src/util/reporter.ts';
import type { MobyError } from '../../src/util/errors.ts';
import { openLayoutImage } from '../../src/image/layout-source.ts';
import { writeLayout, type Compression, type Spec } from './layout-fixture.ts';

const AMD64 = { os: 'linux', architecture: 'amd64' };

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'mobyts-flatten-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Flattens `layers` (bottom first) and lists `type name[ -> link][ = content]` in output order. */
async function flat(
  t: { after(fn: () => void): void },
  layers: Spec[][],
  compression: Compression = 'gzip',
): Promise<string[]> {
  const dir = tempDir(t);
  await writeLayout(dir, 'example.com/img:1', layers, compression);
  const out: string[] = [];
  for await (const e of flattenImage(await openLayoutImage(dir, 'example.com/img:1', AMD64), {
    reporter: silentReporter,
  })) {
    const h = e.header;
    const link = h.linkname === undefined ? '' : ` -> ${h.linkname}`;
    const body = e.body === undefined ? '' : ` = ${await text(e.body)}`;
    out.push(`${h.type} ${h.name}${link}${body}`);
  }
  return out;
}

for (const compression of ['gzip', 'zstd', 'none'] as const) {
  void test(`upper layers win, top layer first, each name once (${compression})`, async (t) => {
    const got = await flat(
      t,
      [
        [{ name: 'etc' }, { name: 'etc/a', data: 'old' }, { name: 'etc/b', data: 'b' }],
        [{ name: 'etc' }, { name: 'etc/a', data: 'new' }],
      ],
      compression,
    );
    assert.deepEqual(got, ['directory etc', 'file etc/a = new', 'file etc/b = b']);
  });
}

void test('whiteouts delete lower files and whole lower directories, but not entries of their own layer', async (t) => {
  const got = await flat(t, [
    [{ name: 'a', data: '1' }, { name: 'd' }, { name: 'd/x', data: 'x' }, { name: 'keep', data: 'k' }],
    [
      { name: '.wh.a', data: '' },
      { name: '.wh.d', data: '' },
      { name: '.wh.keep2', data: '' },
      { name: 'keep2', data: 'same layer' },
    ],
  ]);
  assert.deepEqual(got, ['file keep2 = same layer', 'file keep = k']);
});

void test('opaque whiteouts hide lower contents of the directory (LinuxKit leaks them)', async (t) => {
  const got = await flat(t, [
    [
      { name: 'd', mode: 0o700 },
      { name: 'd/old', data: 'o' },
      { name: 'd/sub' },
      { name: 'd/sub/deep', data: 'x' },
      { name: 'e', data: 'e' },
    ],
    [
      { name: 'd/.wh..wh..opq', data: '' },
      { name: 'd/new', data: 'n' },
    ],
  ]);
  assert.deepEqual(got, ['file d/new = n', 'directory d', 'file e = e']);
});

void test('a non-directory hides lower children; a lower non-directory never shadows an upper directory', async (t) => {
  const got = await flat(t, [
    [{ name: 'a' }, { name: 'a/x', data: 'x' }, { name: 'lib', type: 'symlink', linkname: '/usr/lib' }],
    [
      { name: 'a', data: 'now a file' },
      { name: 'lib/mod', data: 'm' },
    ],
  ]);
  assert.deepEqual(got, ['file a = now a file', 'file lib/mod = m']);
});

void test('hardlinks stay links within a layer and never dangle or point at newer content', async (t) => {
  const got = await flat(t, [
    [
      { name: 'f', data: 'F' },
      { name: 'f2', type: 'link', linkname: 'f' },
      { name: 'g', data: 'old G' },
      { name: 'g2', type: 'link', linkname: 'g' },
      { name: 'g3', type: 'link', linkname: '/g' },
      { name: 'h', data: 'H' },
      { name: 'h2', type: 'link', linkname: './h' },
    ],
    [
      { name: '.wh.g', data: '' },
      { name: 'h', data: 'new H' },
    ],
  ]);
  assert.deepEqual(got, [
    'file h = new H',
    'file f = F',
    'link f2 -> f',
    'file g2 = old G',
    'link g3 -> g2',
    'file h2 = H',
  ]);
});

void test('xattr PAX records and ownership are kept byte-exact', async (t) => {
  const dir = tempDir(t);
  const cap = Buffer.from([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  await writeLayout(dir, 'img', [
    [
      {
        name: 'bin/ping',
        data: 'p',
        mode: 0o4755,
        uid: 7,
        gid: 8,
        uname: 'u',
        gname: 'g',
        pax: [['SCHILY.xattr.security.capability', cap]],
      },
    ],
  ]);
  const got = [];
  for await (const e of flattenImage(await openLayoutImage(dir, 'img', AMD64), { reporter: silentReporter }))
    got.push(e.header);
  assert.deepEqual(got, [
    {
      name: 'bin/ping',
      type: 'file',
      mode: 0o4755,
      uid: 7,
      gid: 8,
      uname: 'u',
      gname: 'g',
      mtime: 1492533000,
      size: 1,
      pax: [['SCHILY.xattr.security.capability', cap]],
    },
  ]);
});

void test('a corrupted layer blob fails with DIGEST_MISMATCH naming both digests', async (t) => {
  const dir = tempDir(t);
  const { layers } = await writeLayout(dir, 'img', [[{ name: 'a', data: 'x'.repeat(100) }]], 'none');
  const layer = layers[0]!;
  const file = join(dir, 'blobs/sha256', layer.digest.slice(7));
  const data = readFileSync(file);
  data[600] = 0x79; // inside the file body: the tar still parses, only the digest can tell
  writeFileSync(file, data);
  await assert.rejects(
    async () => {
      for await (const e of flattenImage(await openLayoutImage(dir, 'img', AMD64), { reporter: silentReporter }))
        if (e.body) await text(e.body);
    },
    { code: 'DIGEST_MISMATCH', message: new RegExp(`content has digest ${digestOf(data)}, expected ${layer.digest}`) },
  );
});

void test('a malicious layer is refused naming the layer, the image and the path', async (t) => {
  const dir = tempDir(t);
  const { layers } = await writeLayout(dir, 'example.com/evil:1', [
    [
      { name: 'etc', type: 'symlink', linkname: '/etc' },
      { name: 'etc/cron.d/x', data: 'pwn' },
    ],
  ]);
  await assert.rejects(
    async () => {
      for await (const _ of flattenImage(await openLayoutImage(dir, 'example.com/evil:1', AMD64), {
        reporter: silentReporter,
      })) {
        /* drain */
      }
    },
    {
      code: 'UNSAFE_CONTENT',
      message: `Refusing unsafe content in "layer ${layers[0]!.digest} of example.com/evil:1": "etc/cron.d/x" would be written through the symlink "etc"`,
    },
  );
});

void test('a corrupt gzip layer (whatever its digest says) fails naming the layer', async () => {
  const gz = gzipSync(Buffer.alloc(2048));
  gz.writeUInt8(gz.readUInt8(gz.length - 6) ^ 0xff, gz.length - 6); // inside the gzip trailer's CRC
  const layer = { mediaType: MediaType.OCI_LAYER_GZIP, digest: digestOf(gz), size: gz.length };
  const source: ImageSource = {
    ref: parseReference('example.com/bad:1'),
    manifestDigest: digestOf('m'),
    manifest: {
      schemaVersion: 2,
      config: { mediaType: MediaType.OCI_CONFIG, digest: digestOf('c'), size: 1 },
      layers: [layer],
    },
    config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
    openLayer: () => Promise.resolve(Readable.from([gz])),
    openBlob: () => Promise.reject(new Error('unused')),
  };
  await assert.rejects(
    async () => {
      for await (const _ of flattenImage(source, { reporter: silentReporter })) {
        /* drain */
      }
    },
    (err: MobyError) => {
      assert.equal(err.code, 'UNSAFE_CONTENT');
      assert.equal(err.message, `Cannot read layer ${layer.digest} of example.com/bad:1`);
      assert.equal((err.cause as Error).message, 'incorrect data check');
      return true;
    },
  );
});

void test('an opaque whiteout at the root of a layer hides every lower entry (OCI layer spec)', async (t) => {
  const got = await flat(t, [
    [{ name: 'a', data: 'a' }, { name: 'd' }, { name: 'd/f', data: 'f' }],
    [
      { name: '.wh..wh..opq', data: '' },
      { name: 'b', data: 'b' },
    ],
  ]);
  assert.deepEqual(got, ['file b = b']);
});

void test('hardlink chains (a link to a link) resolve to one inode, also when the target is replaced above', async (t) => {
  const got = await flat(t, [
    [
      { name: 't', data: 'T' },
      { name: 'l1', type: 'link', linkname: 't' },
      { name: 'l2', type: 'link', linkname: 'l1' },
      { name: 'u', data: 'old U' },
      { name: 'm1', type: 'link', linkname: 'u' },
      { name: 'm2', type: 'link', linkname: 'm1' },
    ],
    [{ name: 'u', data: 'new U' }],
  ]);
  assert.deepEqual(got, [
    'file u = new U',
    'file t = T',
    'link l1 -> t',
    'link l2 -> t',
    'file m1 = old U',
    'link m2 -> m1',
  ]);
});

void test('a hardlink chain leaving the layer or the root is still refused', async (t) => {
  await assert.rejects(
    flat(t, [
      [{ name: 'x', data: 'x' }],
      [
        { name: 'l1', type: 'link', linkname: 'x' },
        { name: 'l2', type: 'link', linkname: 'l1' },
      ],
    ]),
    { code: 'UNSAFE_CONTENT', message: /"l1" is a hardlink to "x", which is not a file in the same layer/ },
  );
  await assert.rejects(flat(t, [[{ name: 'l1', type: 'link', linkname: '../../etc/shadow' }]]), {
    code: 'UNSAFE_CONTENT',
    message: /escapes the root/,
  });
});

// The layer rules one case at a time (the differential test in test/image/differential.test.ts checks them
// all together against umoci). Layers bottom first; output in flatten order.
const LAYER_RULES: Array<[string, Spec[][], string[]]> = [
  [
    "an opaque marker in a nested directory hides only that directory's lower contents",
    [
      [{ name: 'a' }, { name: 'a/b' }, { name: 'a/b/x', data: 'x' }, { name: 'a/y', data: 'y' }],
      [
        { name: 'a/b/.wh..wh..opq', data: '' },
        { name: 'a/b/z', data: 'z' },
      ],
    ],
    ['file a/b/z = z', 'directory a', 'directory a/b', 'file a/y = y'],
  ],
  [
    'a whiteout after the entries of its own layer spares them (late whiteout)',
    [
      [{ name: 'p', data: 'lower' }],
      [
        { name: 'p', data: 'upper' },
        { name: '.wh.p', data: '' },
      ],
    ],
    ['file p = upper'],
  ],
  [
    "a late opaque marker spares its own layer's entries and the lower directory they live in",
    [
      [
        { name: 'd', mode: 0o700 },
        { name: 'd/old', data: 'o' },
      ],
      [
        { name: 'd/new', data: 'n' },
        { name: 'd/.wh..wh..opq', data: '' },
      ],
    ],
    ['file d/new = n', 'directory d'],
  ],
  [
    'a whiteout and a re-creation of the same path in one layer, as another type',
    [
      [{ name: 'q' }, { name: 'q/in', data: 'i' }],
      [
        { name: '.wh.q', data: '' },
        { name: 'q', type: 'symlink', linkname: '/elsewhere' },
      ],
    ],
    ['symlink q -> /elsewhere'],
  ],
  [
    'a directory header after its children keeps its own mode, also from a lower layer',
    [
      [
        { name: 'h/c', data: 'c' },
        { name: 'h', mode: 0o711 },
      ],
      [{ name: 'h/d', data: 'd' }],
    ],
    ['file h/d = d', 'file h/c = c', 'directory h'],
  ],
  [
    'a directory whose upper entries were deleted further up stays, with its header',
    [
      [{ name: 'k', mode: 0o750 }],
      [
        { name: '.wh..wh..opq', data: '' },
        { name: 'k/t', data: 't' },
      ],
      [{ name: 'k/.wh.t', data: '' }],
    ],
    ['directory k'],
  ],
  [
    'file -> directory -> symlink across layers: the upper type wins and hides what was below',
    [
      [{ name: 'm', data: 'file' }],
      [{ name: 'm' }, { name: 'm/x', data: 'x' }],
      [{ name: 'm', type: 'symlink', linkname: 'target' }],
    ],
    ['symlink m -> target'],
  ],
  [
    'a whiteout marker in a directory the same layer then replaces does not pin the directory',
    [
      [{ name: 'r' }, { name: 'r/x', data: 'x' }],
      [
        { name: 'r/.wh.x', data: '' },
        { name: 'r', data: 'now a file' },
      ],
    ],
    ['file r = now a file'],
  ],
  [
    'a hardlink whose target a later layer replaces keeps the old content',
    [
      [
        { name: 't', data: 'old' },
        { name: 'l', type: 'link', linkname: 't' },
      ],
      [{ name: 't', data: 'new' }],
    ],
    ['file t = new', 'file l = old'],
  ],
  [
    'PAX long names and link targets past 100 and 255 bytes',
    [
      [
        { name: 'n'.repeat(120) },
        { name: `${'n'.repeat(120)}/${'m'.repeat(200)}`, data: 'deep' },
        { name: 'ln', type: 'symlink', linkname: `/${'t'.repeat(300)}` },
      ],
    ],
    [
      'directory ' + 'n'.repeat(120),
      `file ${'n'.repeat(120)}/${'m'.repeat(200)} = deep`,
      `symlink ln -> /${'t'.repeat(300)}`,
    ],
  ],
  [
    'names with spaces, unicode, backslashes, glob characters and ".." inside a component',
    [
      [
        { name: 'a b', data: '1' },
        { name: 'ünï☃', data: '2' },
        { name: 'back\\slash', data: '3' },
        { name: 'a..b', data: '4' },
        { name: '..x', data: '5' },
        { name: '[*?]', data: '6' },
        { name: '-rf', data: '7' },
      ],
    ],
    [
      'file a b = 1',
      'file ünï☃ = 2',
      'file back\\slash = 3',
      'file a..b = 4',
      'file ..x = 5',
      'file [*?] = 6',
      'file -rf = 7',
    ],
  ],
];

for (const [name, layers, want] of LAYER_RULES) {
  void test(`layer rules: ${name}`, async (t) => {
    assert.deepEqual(await flat(t, layers), want);
  });
}

void test('layer rules: uids past the octal limit and device nodes (dropped after the rules, with one warning per image)', async (t) => {
  const dir = tempDir(t);
  await writeLayout(dir, 'example.com/img:1', [
    [{ name: 'dev0', type: 'file', data: 'lower' }, { name: 'keep' }],
    [
      { name: 'big', data: 'b', uid: 3_000_000, gid: 2 ** 31 },
      { name: 'dev0', type: 'character-device', devmajor: 1, devminor: 3 },
      { name: 'keep/null', type: 'block-device' },
    ],
  ]);
  const reporter = recordingReporter();
  const got: string[] = [];
  for await (const e of flattenImage(await openLayoutImage(dir, 'example.com/img:1', AMD64), { reporter })) {
    got.push(`${e.header.type} ${e.header.name} ${e.header.uid}:${e.header.gid}`);
    e.body?.resume();
  }
  assert.deepEqual(got, ['file big 3000000:2147483648', 'directory keep 0:0']);
  assert.deepEqual(reporter.events, [
    { type: 'warn', message: 'Dropped 2 device node(s) from "example.com/img:1": images may not create devices' },
  ]);
});
