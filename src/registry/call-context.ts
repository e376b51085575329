/** What a registry request is for (the ref, pull or push) and the subject every error message about it starts with. */
import type { Reference } from '../oci/reference.ts';

/** What a request is for: the ref, pull or push, and the subject that starts every error message. */
export interface CallContext {
  ref: Reference;
  action: 'pull' | 'push';
  /** e.g. `Cannot pull "docker.io/library/alpine:3.20"`. */
  subject: string;
}

/** `Cannot pull "REF"` — the subject for a pull of `ref`. */
export function pullContext(ref: Reference, platform?: string): CallContext {
  return {
    ref,
    action: 'pull',
    subject: `Cannot pull "${ref.expanded}"${platform === undefined ? '' : ` for ${platform}`}`,
  };
}

/** `Cannot push "REF"` — the subject for a push to `ref`. */
export function pushContext(ref: Reference): CallContext {
  return { ref, action: 'push', subject: `Cannot push "${ref.expanded}"` };
}
