/**
 * Content addressing enforced on read (docs/architecture.md#content-addressing, go-containerregistry internal/verify):
 * every blob stream passes through a digest-and-size check that fails at its end.
 */
import { createHash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { MobyError } from '../util/errors.ts';
import { digestAlgorithm, type Digest } from './digest.ts';

export interface VerifyOptions {
  /** Names the blob in errors, e.g. `layer of docker.io/library/alpine:3.20`. */
  subject?: string;
}

class VerifyingTransform extends Transform {
  private readonly hash;
  private seen = 0;
  private readonly digest: Digest;
  private readonly size: number | undefined;
  private readonly subject: string;

  constructor(digest: Digest, size: number | undefined, subject: string) {
    super();
    this.digest = digest;
    this.size = size;
    this.subject = subject;
    this.hash = createHash(digestAlgorithm(digest));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.size !== undefined && this.seen > this.size) {
      cb(this.mismatch(`it is longer than the expected ${this.size} bytes`));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.size !== undefined && this.seen !== this.size) {
      cb(this.mismatch(`got ${this.seen} bytes, expected ${this.size}`));
      return;
    }
    const got = `${digestAlgorithm(this.digest)}:${this.hash.digest('hex')}`;
    cb(got === this.digest ? null : this.mismatch(`content has digest ${got}, expected ${this.digest}`));
  }

  private mismatch(detail: string): MobyError {
    return mismatch(this.digest, this.subject, detail);
  }
}

function mismatch(digest: Digest, subject: string, detail: string): MobyError {
  return new MobyError(`Cannot verify blob ${digest} (${subject}): ${detail}`, {
    code: 'DIGEST_MISMATCH',
    hint: 'the blob is corrupt or was tampered with; remove it from the cache (or fix the registry) and pull again',
  });
}

/** `bytes` when they are `size` bytes (when given) with digest `digest`; the same errors as `verifyStream`. */
export function verifyBuffer(bytes: Buffer, digest: Digest, size?: number, opts: VerifyOptions = {}): Buffer {
  const subject = opts.subject ?? 'blob';
  if (size !== undefined && bytes.length > size)
    throw mismatch(digest, subject, `it is longer than the expected ${size} bytes`);
  if (size !== undefined && bytes.length !== size)
    throw mismatch(digest, subject, `got ${bytes.length} bytes, expected ${size}`);
  const got = `${digestAlgorithm(digest)}:${createHash(digestAlgorithm(digest)).update(bytes).digest('hex')}`;
  if (got !== digest) throw mismatch(digest, subject, `content has digest ${got}, expected ${digest}`);
  return bytes;
}

/**
 * Returns a stream of the same bytes as `source` that errors with DIGEST_MISMATCH (naming the expected and the
 * actual digest, or the sizes) at end of stream when the content does not match, or as soon as it grows past
 * `size`. Errors of `source` are forwarded; destroying the result destroys `source`. The caller drains or
 * destroys the result; bytes before the end are not yet trusted (consumers must not commit to them before
 * the stream ended without error).
 */
export function verifyStream(source: Readable, digest: Digest, size?: number, opts: VerifyOptions = {}): Readable {
  const t = new VerifyingTransform(digest, size, opts.subject ?? 'blob');
  source.on('error', (err) => t.destroy(err));
  t.on('close', () => {
    if (!source.destroyed && !source.readableEnded) source.destroy();
  });
  return source.pipe(t);
}
