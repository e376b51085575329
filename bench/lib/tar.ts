/**
 * A minimal ustar writer for generated bench layers: regular files and directories with short names, fixed
 * owner and mtime. Enough for inputs; the project's own tar code is what the bench measures, not this.
 */
const MTIME = 1700000000;

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

/** One 512-byte ustar header. `name` must be under 100 bytes. */
export function tarHeader(name: string, opts: { size: number; type: 'file' | 'dir'; mode: number }): Buffer {
  if (Buffer.byteLength(name) >= 100) throw new Error(`bench tar: name too long: ${name}`);
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write(octal(opts.mode, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(opts.size, 12), 124);
  h.write(octal(MTIME, 12), 136);
  h.write('        ', 148);
  h.write(opts.type === 'dir' ? '5' : '0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.write('root', 265);
  h.write('root', 297);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

/** Collects tar members into one buffer (the bench keeps each layer ≤ ~100 MiB). */
export class TarBuilder {
  readonly #parts: Buffer[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  dir(name: string): void {
    this.#push(tarHeader(name.endsWith('/') ? name : `${name}/`, { size: 0, type: 'dir', mode: 0o755 }));
  }

  file(name: string, body: Buffer, mode = 0o644): void {
    this.#push(tarHeader(name, { size: body.length, type: 'file', mode }));
    this.#push(body);
    const pad = (512 - (body.length % 512)) % 512;
    if (pad > 0) this.#push(Buffer.alloc(pad));
  }

  finish(): Buffer {
    this.#push(Buffer.alloc(1024));
    return Buffer.concat(this.#parts, this.#size);
  }

  #push(b: Buffer): void {
    this.#parts.push(b);
    this.#size += b.length;
  }
}
