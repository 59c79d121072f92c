/**
 * What the client's RSA keys are: the public key with its encodings and fingerprint, the key
 * pair, the sizes generated, and the limits every key is checked against. The checks are in
 * `rsa_key_checks.ts`, import and export in `rsa_key_import_export.ts`, generation in
 * `rsa_key_generation.ts`.
 *
 * @module
 */

/** An RSA public key for RSA-OAEP with SHA-256, with its encodings and fingerprint. */
export interface RsaPublicKey {
  /** RSA-OAEP, hash SHA-256, usages `["encrypt", "wrapKey"]`, extractable. */
  readonly key: CryptoKey;
  /** The DER `SubjectPublicKeyInfo`. */
  readonly spki: Uint8Array<ArrayBuffer>;
  /** The PEM `SubjectPublicKeyInfo`: `"-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----\n"`. */
  readonly pem: string;
  /** The modulus length in bits. */
  readonly bits: number;
  /** SHA-256 over {@linkcode RsaPublicKey.spki}, lowercase hex. */
  readonly fingerprint: string;
}

/** An RSA key pair for RSA-OAEP with SHA-256. */
export interface RsaKeyPair {
  /** RSA-OAEP, hash SHA-256, usages `["decrypt", "unwrapKey"]`; extractable only when asked. */
  readonly privateKey: CryptoKey;
  /** The public half. */
  readonly publicKey: RsaPublicKey;
}

/** The sizes `generateRsaKeyPair` makes. */
export type RsaKeySize = 2048 | 4096;

/** Smallest modulus accepted, in bits. */
export const MIN_RSA_BITS = 2048;
/** Largest modulus accepted, in bits (what WebCrypto implementations support). */
export const MAX_RSA_BITS = 16384;
/** Smallest public exponent accepted (it must also be odd). */
export const MIN_PUBLIC_EXPONENT = 65537;
