/**
 * Converting a raw disk with `qemu-img convert`, then removing what qemu-img makes vary between runs: the VHD
 * footer's timestamp and random UUID (and its checksum), the VMDK descriptor's random CID and the temporary
 * file name it records. The replacements are derived from the disk's first MiB (which holds the
 * content-derived partition ids), so they still differ between different images.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { TOOLS } from '../tools/catalog.ts';
import { pathArg, runTool, type RunToolOptions } from '../tools/run-tool.ts';
import { guidBytes, derivedGuid } from './partition/guid.ts';
import { MIB } from './partition/disk.ts';

export type DiskTarget = { kind: 'qcow2' } | { kind: 'vhd-fixed' } | { kind: 'vhd-dynamic' } | { kind: 'vmdk-stream' };

const ARGS: Record<DiskTarget['kind'], string[]> = {
  qcow2: ['-O', 'qcow2'],
  'vhd-fixed': ['-O', 'vpc', '-o', 'subformat=fixed,force_size=on'],
  'vhd-dynamic': ['-O', 'vpc', '-o', 'subformat=dynamic,force_size=on'],
  'vmdk-stream': ['-O', 'vmdk', '-o', 'adapter_type=lsilogic,subformat=streamOptimized,compat6=on'],
};

/** Converts `raw` into `out`; `finalName` is the basename the file will be published under. */
export async function convertDisk(o: {
  raw: string;
  out: string;
  finalName: string;
  target: DiskTarget;
  sourceDateEpoch: number;
  run: RunToolOptions;
}): Promise<void> {
  await runTool(
    TOOLS.qemuImg,
    ['convert', '-q', '-f', 'raw', ...ARGS[o.target.kind], pathArg(o.raw), pathArg(o.out)],
    o.run,
  );
  const seed = await diskSeed(o.raw);
  if (o.target.kind === 'vhd-fixed' || o.target.kind === 'vhd-dynamic')
    await fixVhd(o.out, seed, o.sourceDateEpoch, o.target.kind === 'vhd-dynamic');
  if (o.target.kind === 'vmdk-stream') await fixVmdk(o.out, seed, o.finalName);
}

async function diskSeed(raw: string): Promise<string> {
  const f = await open(raw, 'r');
  try {
    const head = Buffer.alloc(MIB);
    const { bytesRead } = await f.read(head, 0, MIB, 0);
    const size = (await f.stat()).size;
    return createHash('sha256').update(head.subarray(0, bytesRead)).update(String(size)).digest('hex');
  } finally {
    await f.close();
  }
}

const VHD_EPOCH = 946684800;

/** Rewrites the VHD footer at the end (and its copy at offset 0 for dynamic disks). */
async function fixVhd(path: string, seed: string, sde: number, dynamic: boolean): Promise<void> {
  const f = await open(path, 'r+');
  try {
    const size = (await f.stat()).size;
    const footer = Buffer.alloc(512);
    await f.read(footer, 0, 512, size - 512);
    footer.writeUInt32BE(Math.max(0, sde - VHD_EPOCH), 24);
    guidBytes(derivedGuid('vhd', seed)).copy(footer, 68);
    footer.writeUInt32BE(0, 64);
    footer.writeUInt32BE(~footer.reduce((s, b) => s + b, 0) >>> 0, 64);
    await f.write(footer, 0, 512, size - 512);
    if (dynamic) await f.write(footer, 0, 512, 0);
  } finally {
    await f.close();
  }
}

/** Rewrites the embedded descriptor of a monolithic sparse VMDK in place. */
async function fixVmdk(path: string, seed: string, finalName: string): Promise<void> {
  const f = await open(path, 'r+');
  try {
    const header = Buffer.alloc(512);
    await f.read(header, 0, 512, 0);
    const at = Number(header.readBigUInt64LE(28)) * 512;
    const region = Buffer.alloc(Number(header.readBigUInt64LE(36)) * 512);
    await f.read(region, 0, region.length, at);
    const out = vmdkDescriptor(region, seed, finalName);
    await f.write(out, 0, out.length, at);
  } finally {
    await f.close();
  }
}

/**
 * The descriptor region with a CID derived from `seed` and the extent named `finalName`, zero-filled after the
 * text. The descriptor is a NUL-terminated string: qemu-img rewrites it with a fresh random CID (printed
 * without leading zeros) over the old text, so when the new CID is shorter the old text's last bytes stay
 * behind the NUL. Those bytes are dropped, or 1 conversion in a few hundred would differ.
 */
export function vmdkDescriptor(region: Buffer, seed: string, finalName: string): Buffer {
  const end = region.indexOf(0);
  const text = region.toString('latin1', 0, end < 0 ? region.length : end);
  const fixed = text
    .replace(/^CID=[0-9a-f]+$/m, `CID=${seed.slice(0, 8)}`)
    .replace(/^(RW \d+ SPARSE )"[^"]*"$/m, `$1"${basename(finalName)}"`);
  const out = Buffer.alloc(region.length);
  if (Buffer.byteLength(fixed, 'latin1') > out.length) throw new RangeError('VMDK descriptor grew beyond its region');
  out.write(fixed, 0, 'latin1');
  return out;
}
