/**
 * Pull-based exact-length reads over a byte stream: the tar reader asks for 512-byte headers and for body
 * chunks of at most N bytes, and never holds more than one source chunk.
 */
import type { Readable } from 'node:stream';

const EMPTY = Buffer.alloc(0);

export class ByteReader {
  private readonly it: AsyncIterator<unknown>;
  private pending: Buffer = EMPTY;
  private ended = false;
  /** Bytes handed out so far (offset of the next byte). */
  position = 0;

  constructor(source: Readable | AsyncIterable<Uint8Array>) {
    this.it = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  }

  /** Refills `pending` when empty; false at end of stream. */
  private async fill(): Promise<boolean> {
    while (this.pending.length === 0) {
      if (this.ended) return false;
      const r = await this.it.next();
      if (r.done === true) {
        this.ended = true;
        return false;
      }
      const v = r.value;
      this.pending = Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array);
    }
    return true;
  }

  /** Up to `max` bytes (at least one), or undefined at end of stream. */
  async chunk(max: number): Promise<Buffer | undefined> {
    if (!(await this.fill())) return undefined;
    const out = this.pending.subarray(0, max);
    this.pending = this.pending.subarray(out.length);
    this.position += out.length;
    return out;
  }

  /** Exactly `n` bytes; fewer only when the stream ends first (the caller decides whether that is an error). */
  async exact(n: number): Promise<Buffer> {
    const first = await this.chunk(n);
    if (first === undefined) return EMPTY;
    if (first.length === n) return first;
    const parts = [first];
    let got = first.length;
    while (got < n) {
      const c = await this.chunk(n - got);
      if (c === undefined) break;
      parts.push(c);
      got += c.length;
    }
    return Buffer.concat(parts, got);
  }

  /** Discards `n` bytes; returns how many were actually skipped. */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const c = await this.chunk(Math.min(left, 1 << 20));
      if (c === undefined) break;
      left -= c.length;
    }
    return n - left;
  }

  /** Reads to the end of the source (so a verifying source gets to check its digest); returns the byte count. */
  async drainToEnd(): Promise<number> {
    let n = 0;
    for (let c = await this.chunk(1 << 20); c !== undefined; c = await this.chunk(1 << 20)) n += c.length;
    return n;
  }

  /** Stops reading the source early (on error); lets the source release its resources. */
  async close(): Promise<void> {
    await this.it.return?.();
  }
}
