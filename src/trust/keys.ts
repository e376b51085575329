/**
 * Notary public keys and signature checks (notary `tuf/data/keys.go`, `tuf/signed/verifiers.go`).
 * Key types: `ecdsa` (PKIX DER), `ecdsa-x509` (PEM certificate), `ed25519` (raw 32 bytes), `rsa` (PKIX DER),
 * `rsa-x509`; every `keyval.public` is base64. Methods: `ecdsa` (SHA-256, r||s), `ed25519`, `rsapss`
 * (SHA-256, salt = hash length) and `rsapkcs1v15` (SHA-256).
 */
import { constants, createHash, createPublicKey, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';

export interface TufKey {
  keytype: string;
  keyval: { public: string; private?: string | null };
}

export interface Signature {
  keyid: string;
  method: string;
  sig: string;
}

/** A usable public key, or why it is not usable (and the error behind that, when one was thrown). */
export type LoadedKey =
  | { ok: true; key: KeyObject; keytype: string; certificate?: X509Certificate }
  | { ok: false; reason: string; cause?: unknown };

/** Notary's key ID: sha256 of the canonical JSON of `{keytype, keyval: {private: null, public}}`. */
export function keyId(key: TufKey): string {
  const canonical = canonicalJson({ keytype: key.keytype, keyval: { private: null, public: key.keyval.public } });
  return createHash('sha256').update(canonical).digest('hex');
}

function fromDer(der: Buffer): KeyObject {
  return createPublicKey({ key: der, format: 'der', type: 'spki' });
}

/**
 * Parses `key` by its keytype; never throws. With `validAt`, an x509 certificate must be valid then: Notary
 * checks that for root certificates only (trustpinning), not for delegation or other role certificates.
 */
export function loadKey(key: TufKey, validAt?: Date): LoadedKey {
  const bytes = Buffer.from(key.keyval.public, 'base64');
  try {
    switch (key.keytype) {
      case 'ecdsa':
      case 'rsa':
        return { ok: true, key: fromDer(bytes), keytype: key.keytype };
      case 'ed25519':
        if (bytes.length !== 32) return { ok: false, reason: `an ed25519 key has ${bytes.length} bytes, not 32` };
        return {
          ok: true,
          key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: bytes.toString('base64url') }, format: 'jwk' }),
          keytype: 'ed25519',
        };
      case 'ecdsa-x509':
      case 'rsa-x509':
        return loadCertificate(bytes, key.keytype, validAt);
      default:
        return { ok: false, reason: `unsupported key type "${key.keytype}"` };
    }
  } catch (err) {
    return { ok: false, reason: `unreadable ${key.keytype} key`, cause: err };
  }
}

function loadCertificate(pem: Buffer, keytype: string, validAt: Date | undefined): LoadedKey {
  const certificate = new X509Certificate(pem);
  if (validAt !== undefined && (validAt < new Date(certificate.validFrom) || validAt > new Date(certificate.validTo))) {
    return {
      ok: false,
      reason: `its certificate is valid only from ${certificate.validFrom} to ${certificate.validTo}`,
    };
  }
  return { ok: true, key: certificate.publicKey, keytype, certificate };
}

function algorithmOf(keytype: string): string {
  return keytype.replace(/-x509$/, '');
}

/** Checks one signature over `message` (the canonical JSON of `signed`); false on any mismatch, never throws. */
export function verifySignature(key: LoadedKey & { ok: true }, signature: Signature, message: Buffer): boolean {
  const sig = Buffer.from(signature.sig, 'base64');
  const algorithm = algorithmOf(key.keytype);
  try {
    if (signature.method === 'ed25519' && algorithm === 'ed25519') return verify(null, message, key.key, sig);
    if (signature.method === 'ecdsa' && algorithm === 'ecdsa') {
      return verify('sha256', message, { key: key.key, dsaEncoding: 'ieee-p1363' }, sig);
    }
    if (signature.method === 'rsapss' && algorithm === 'rsa') {
      return verify('sha256', message, { key: key.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig);
    }
    if (signature.method === 'rsapkcs1v15' && algorithm === 'rsa') {
      return verify('sha256', message, { key: key.key, padding: constants.RSA_PKCS1_PADDING }, sig);
    }
  } catch {
    return false;
  }
  return false;
}
