/**
 * Content addressing enforced on read (design.md §3.3): a pass-through that hashes and counts bytes and
 * fails at end of stream (or as soon as there are too many bytes) when they do not match.
 */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { digestAlgorithm, type Digest } from '../oci/digest.ts';
import { MobyError } from '../util/errors.ts';

/** A Transform that errors with DIGEST_MISMATCH naming `what` and both digests when the bytes are wrong. */
export function verifyingStream(expected: { digest: Digest; size?: number }, what: string): Transform {
  const hash = createHash(digestAlgorithm(expected.digest));
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      if (expected.size !== undefined && n > expected.size) {
        cb(new MobyError(`${what} is larger than its descriptor says (more than ${expected.size} bytes)`, { code: 'DIGEST_MISMATCH' }));
        return;
      }
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      const actual = `${digestAlgorithm(expected.digest)}:${hash.digest('hex')}`;
      if (expected.size !== undefined && n !== expected.size) {
        cb(new MobyError(`${what} has ${n} bytes, expected ${expected.size}`, { code: 'DIGEST_MISMATCH' }));
      } else if (actual !== expected.digest) {
        cb(new MobyError(`${what} does not match its digest (expected ${expected.digest}, got ${actual})`, { code: 'DIGEST_MISMATCH' }));
      } else {
        cb();
      }
    },
  });
}
